import { GroupCommit } from '@kiln/core';
import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  JobName,
  MAX_RUNS_PER_BATCH,
  QueueName,
  type CronTickPayload,
  type EventDispatchPayload,
  type ExecutionBatchPayload,
  type ExecutionRunPayload,
  type ScriptVersionRef,
} from './contracts';
import { LuaScript } from './lua-script';

type NewRun = ExecutionBatchPayload['runs'][number];

// BullMQ adds at the head of the wait list and takes from its tail: the tail is the oldest job.
const BACKLOG = new LuaScript(
  'kiln-queue-backlog',
  `
local stamp = false
local id = redis.call('LINDEX', KEYS[1], -1)
if id then stamp = redis.call('HGET', ARGV[1] .. id, 'timestamp') end
return { stamp, redis.call('HEXISTS', KEYS[2], 'paused') }
`,
);

export interface ExecutionQueueOptions {
  connection: Redis;
  prefix: string;
  /** Attempts per run: > 1 so a run whose worker died is picked up again. */
  attempts: number;
}

/** Producer side of the `executions` queue. */
export class ExecutionQueue {
  readonly queue: Queue;
  private readonly runOptions: JobsOptions;
  private readonly connection: Redis;
  // One add in flight: runs accepted meanwhile ride together in the next job.
  private readonly newRuns = new GroupCommit<NewRun, void>((runs) => this.addNewRuns(runs), { maxBatch: MAX_RUNS_PER_BATCH, maxInFlight: 1 });

  constructor(options: ExecutionQueueOptions) {
    this.connection = options.connection;
    this.queue = new Queue(QueueName.Executions, { connection: options.connection, prefix: options.prefix });
    this.queue.on('error', () => undefined);
    this.runOptions = {
      attempts: options.attempts,
      backoff: { type: 'fixed', delay: 250 },
      removeOnComplete: true,
      removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
    };
  }

  /** jobId = executionId (plus a suffix for continuations), so a replayed enqueue is a no-op. */
  async enqueueRun(
    executionId: string,
    options: { jobIdSuffix?: string; delayMs?: number; tenantId?: string; script?: ScriptVersionRef | null } = {},
  ): Promise<void> {
    const payload: ExecutionRunPayload = {
      executionId,
      ...(options.tenantId ? { tenantId: options.tenantId } : {}),
      ...(options.script ? { script: options.script } : {}),
    };
    await this.queue.add(JobName.ExecutionRun, payload, {
      ...this.runOptions,
      // BullMQ refuses custom ids with one ':' (it reserves them for repeatable jobs).
      jobId: options.jobIdSuffix ? `${executionId}.${options.jobIdSuffix}` : executionId,
      ...(options.delayMs ? { delay: options.delayMs } : {}),
    });
  }

  /**
   * Enqueues a run the API just accepted. Alone it is an `execution.run` job
   * like any other; runs accepted while an earlier add is still on its way
   * to Redis share one `execution.batch` job. A BullMQ job costs ~40 Redis
   * commands whatever it carries, so under load this is what keeps the queue
   * from being the most expensive part of a run.
   */
  enqueueNewRun(executionId: string, tenantId: string, script?: ScriptVersionRef | null): Promise<void> {
    return this.newRuns.submit({ executionId, tenantId, ...(script ? { script } : {}) });
  }

  private async addNewRuns(runs: NewRun[]): Promise<void[]> {
    const [first] = runs;
    if (runs.length === 1 && first) {
      await this.enqueueRun(first.executionId, { tenantId: first.tenantId, script: first.script });
    } else if (first) {
      const payload: ExecutionBatchPayload = { runs };
      // Batch ids never collide with an execution's own job id (`batch.` + a UUID).
      await this.queue.add(JobName.ExecutionBatch, payload, { ...this.runOptions, jobId: `batch.${first.executionId}` });
    }
    return runs.map(() => undefined);
  }

  /** Removes a waiting job (best effort: a job already taken is left to the worker's claim check). */
  async removeRun(executionId: string): Promise<void> {
    try {
      await this.queue.remove(executionId);
    } catch {
      // Locked by a worker: the claim's status check keeps a cancelled run from running.
    }
  }

  async enqueueEvent(payload: EventDispatchPayload): Promise<void> {
    await this.queue.add(JobName.EventDispatch, payload, {
      ...(payload.eventId ? { jobId: `event-${payload.eventId}` } : {}),
      attempts: 3,
      backoff: { type: 'fixed', delay: 500 },
      removeOnComplete: true,
      removeOnFail: { age: 7 * 24 * 3600 },
    });
  }

  /** One job scheduler per cron script: BullMQ emits exactly one job per tick cluster-wide. */
  async upsertCron(payload: CronTickPayload): Promise<void> {
    await this.queue.upsertJobScheduler(
      cronSchedulerId(payload.scriptId),
      { pattern: payload.cron, ...(payload.timezone ? { tz: payload.timezone } : {}) },
      // Retrying a tick is safe: the worker claims an idempotency key per tick before it starts anything.
      { name: JobName.CronTick, data: payload, opts: { attempts: 3, backoff: { type: 'fixed', delay: 1000 }, removeOnComplete: true, removeOnFail: { age: 24 * 3600 } } },
    );
  }

  async removeCron(scriptId: string): Promise<void> {
    await this.queue.removeJobScheduler(cronSchedulerId(scriptId));
  }

  /**
   * Creation time (producer's clock, ms) of the oldest job still waiting to
   * be taken, null when none waits, and whether the queue is paused: one
   * script call. Readers that turn it into an age compare it with their own
   * clock, so producers and readers are expected to keep clocks in sync.
   */
  async backlog(): Promise<{ oldestWaitingAt: number | null; paused: boolean }> {
    const [stamp, paused] = await BACKLOG.run<[string | null, number]>(this.connection, [this.queue.toKey('wait'), this.queue.toKey('meta')], [this.queue.toKey('')]);
    const at = stamp === null ? NaN : Number(stamp);
    return { oldestWaitingAt: Number.isFinite(at) ? at : null, paused: paused === 1 };
  }

  async waitingCount(): Promise<number> {
    return this.queue.getWaitingCount();
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}

export function cronSchedulerId(scriptId: string): string {
  return `cron:${scriptId}`;
}

import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { KilnConfig } from '@kiln/config';
import { traceStep, type Logger } from '@kiln/observability';
import { InjectConfig, InjectLogger, InjectRedis } from '@kiln/platform';
import {
  closeWorkerWithin,
  createRedis,
  executionBatchPayload,
  ExecutionSignals,
  executionRunPayload,
  JobName,
  PromptWorker,
  QueueName,
  waitForRedis,
  type ExecutionBatchPayload,
  type ScriptVersionRef,
} from '@kiln/queue';
import { SandboxPool } from '@kiln/sandbox';
import type { Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { ExecutionRunner, RetryableRunError, type RunAttempt, type RunResult } from './execution-runner';
import { RunSlots } from './run-slots';
import { TenantConcurrencyGate, type TenantSlot } from './tenant-concurrency-gate';
import { TriggerJobs } from './trigger-jobs';

/**
 * The BullMQ consumer of `executions`. It starts after the whole app has
 * booted (never in a constructor) and, on SIGTERM, stops taking jobs and lets
 * running ones finish within the grace period.
 */
@Injectable()
export class ExecutionWorker implements OnApplicationBootstrap, OnApplicationShutdown {
  private worker: Worker | null = null;
  private connection: Redis | null = null;
  private readonly runSlots: RunSlots;

  constructor(
    @InjectConfig() private readonly config: KilnConfig,
    @InjectLogger() private readonly logger: Logger,
    @InjectRedis() private readonly redis: Redis,
    private readonly runner: ExecutionRunner,
    private readonly signals: ExecutionSignals,
    @Inject(SandboxPool) private readonly pool: SandboxPool,
    private readonly gate: TenantConcurrencyGate,
    private readonly triggers: TriggerJobs,
  ) {
    this.runSlots = new RunSlots(config.worker.concurrency);
  }

  async onApplicationBootstrap(): Promise<void> {
    await waitForRedis(this.redis, this.config.redis.url);
    await this.pool.start();
    this.signals.onCancel((executionId) => {
      if (this.pool.cancel(executionId)) this.logger.info({ executionId }, 'cancel requested: isolate disposed');
    });
    await this.signals.listen({ cancel: true });

    const { worker: w } = this.config;
    this.connection = createRedis(this.config.redis.url, 'worker', `worker:${w.id}`);
    this.worker = new PromptWorker(QueueName.Executions, (job, token) => this.process(job, token), {
      connection: this.connection,
      prefix: this.config.redis.prefix,
      concurrency: w.concurrency,
      lockDuration: w.jobLockMs,
      stalledInterval: w.stalledIntervalMs,
      // A job whose worker died comes back this many times before it is failed (WORKER_LOST).
      maxStalledCount: Math.max(0, w.jobAttempts - 1),
      autorun: false,
    });
    this.worker.on('error', (err) => this.logger.error({ err }, 'executions worker error'));
    this.worker.on('failed', (job, err) => {
      if (!job) return;
      const exhausted = job.attemptsMade >= (job.opts.attempts ?? 1) || /stalled more than allowable limit/i.test(err.message);
      if (exhausted) this.markLost(job, err.message);
    });
    void this.worker.run();
    this.logger.info({ concurrency: w.concurrency, sandboxProcesses: w.sandboxProcesses, workerId: w.id }, 'worker consuming executions');
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.worker) {
      const graceMs = this.config.shutdownGraceMs;
      await closeWorkerWithin(this.worker, graceMs, () =>
        // Runs still going are left to another worker's stalled-job recovery.
        this.logger.warn({ graceMs }, 'grace period over; closing the worker with runs still active'),
      );
    }
    await this.pool.close(1000).catch(() => undefined);
    this.connection?.disconnect();
  }

  private async process(job: Job, token?: string): Promise<unknown> {
    switch (job.name) {
      case JobName.ExecutionRun: {
        const { executionId, tenantId, script } = executionRunPayload.parse(job.data);
        traceStep('worker.taken', executionId);
        return this.withRunSlot(async () => {
          // Per-tenant concurrency: when the tenant is full, the job goes back to the queue still pending (DelayedError).
          const slot = await this.gate.enter(job, token, executionId, tenantId);
          traceStep('worker.tenant-slot', executionId);
          try {
            return await this.runOne(executionId, attemptOf(job), slot, script);
          } finally {
            await slot.release();
          }
        });
      }
      case JobName.ExecutionBatch:
        return this.runBatch(job, executionBatchPayload.parse(job.data).runs);
      case JobName.CronTick:
        return this.triggers.cronTick(job);
      case JobName.EventDispatch:
        return this.triggers.eventDispatch(job);
      default:
        this.logger.warn({ name: job.name }, 'unknown job on the executions queue; dropping it');
        return 'unknown-job';
    }
  }

  /**
   * The runs of one batch job go side by side, each through the same steps as
   * a job of its own. When one of them fails for a reason that is not the
   * script's, the whole job is retried once the others are done: runs that
   * finished are skipped by their claims, the failed one is taken over.
   */
  private async runBatch(job: Job, runs: ExecutionBatchPayload['runs']): Promise<Record<string, number>> {
    const attempt = attemptOf(job);
    const settled = await Promise.allSettled(
      runs.map(({ executionId, tenantId, script }) =>
        this.withRunSlot(async (): Promise<RunResult | 'deferred'> => {
          const slot = await this.gate.enterFromBatch(executionId, tenantId, job.timestamp, script);
          if (!slot) return 'deferred';
          try {
            return await this.runOne(executionId, attempt, slot, script);
          } finally {
            await slot.release();
          }
        }),
      ),
    );
    const failure = settled.find((result) => result.status === 'rejected');
    if (failure) throw failure.reason;
    const counts: Record<string, number> = {};
    for (const result of settled) if (result.status === 'fulfilled') counts[result.value] = (counts[result.value] ?? 0) + 1;
    return counts;
  }

  /** The slot is released once: with the done signal, or by the caller's `finally` when the run ends otherwise. */
  private async runOne(executionId: string, attempt: RunAttempt, slot: TenantSlot, script: ScriptVersionRef | undefined): Promise<RunResult> {
    try {
      return await this.runner.run(executionId, attempt, { releaseSlot: () => slot.release(), ...(script ? { script } : {}) });
    } catch (err) {
      // Infrastructure failure (database, Redis) or a crashed sandbox: BullMQ retries the job.
      if (!(err instanceof RetryableRunError)) this.logger.error({ err, executionId }, 'execution attempt failed');
      throw err;
    }
  }

  private async withRunSlot<T>(work: () => Promise<T>): Promise<T> {
    const release = await this.runSlots.acquire();
    try {
      return await work();
    } finally {
      release();
    }
  }

  private markLost(job: Job, reason: string): void {
    const lost =
      job.name === JobName.ExecutionRun
        ? [{ executionId: (job.data as { executionId: string }).executionId, onlyRunning: false }]
        : job.name === JobName.ExecutionBatch
          ? (job.data as ExecutionBatchPayload).runs.map((run) => ({ executionId: run.executionId, onlyRunning: true }))
          : [];
    for (const { executionId, onlyRunning } of lost) {
      this.runner
        .markLost(executionId, `(${reason})`, { onlyRunning })
        .catch((e: unknown) => this.logger.error({ err: e, executionId }, 'could not mark execution lost'));
    }
  }
}

function attemptOf(job: Job): RunAttempt {
  const attempts = job.opts.attempts ?? 1;
  return {
    number: job.attemptsMade + 1,
    isLast: job.attemptsMade + 1 >= attempts,
    // Back after a failure or a stall: whoever ran it before is gone.
    reclaimRunning: job.attemptsMade > 0 || job.stalledCounter > 0,
  };
}

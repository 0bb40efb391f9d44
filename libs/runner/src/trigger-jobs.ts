import { Injectable } from '@nestjs/common';
import type { KilnConfig } from '@kiln/config';
import { uuidv7, type ExecutionTrigger } from '@kiln/core';
import { ExecutionRepository, ScriptRepository, type Script } from '@kiln/db';
import type { Logger } from '@kiln/observability';
import { InjectConfig, InjectLogger } from '@kiln/platform';
import { cronTickPayload, eventDispatchPayload, ExecutionQueue } from '@kiln/queue';
import type { Job } from 'bullmq';

export type CronTickResult = 'started' | 'replayed' | 'script-gone' | 'stale-tick';
export interface EventDispatchResult {
  started: number;
  replayed: number;
}

interface StartOptions {
  trigger: ExecutionTrigger;
  input: unknown;
  /** Claimed with the execution, so a job that runs twice (stalled, retried) starts one execution. */
  idempotencyKey: string;
  apiKeyId?: string | null;
  chainDepth?: number;
  parentExecutionId?: string | null;
}

/**
 * The worker's side of cron and event triggers: turn a `cron.tick` or an
 * `event.dispatch` job into executions (one row + one `execution.run` job
 * each). Executions start as the script is now: its current version, limits
 * and status.
 */
@Injectable()
export class TriggerJobs {
  constructor(
    @InjectConfig() private readonly config: KilnConfig,
    @InjectLogger() private readonly logger: Logger,
    private readonly scripts: ScriptRepository,
    private readonly executions: ExecutionRepository,
    private readonly queue: ExecutionQueue,
  ) {}

  async cronTick(job: Job): Promise<CronTickResult> {
    const tick = cronTickPayload.parse(job.data);
    const script = await this.scripts.findByIdOrName(tick.tenantId, tick.scriptId);
    if (!script) {
      // Deleted while its scheduler lived on (the gateway's removal failed or raced): retire it.
      await this.queue.removeCron(tick.scriptId);
      this.logger.info({ scriptId: tick.scriptId, tenantId: tick.tenantId }, 'cron tick for a deleted script; scheduler removed');
      return 'script-gone';
    }
    // A tick scheduled before the script was paused or its schedule changed.
    if (script.status !== 'active' || script.cron !== tick.cron || (script.cronTimezone ?? null) !== (tick.timezone ?? null)) {
      this.logger.debug({ scriptId: script.id, tenantId: script.tenantId, cron: tick.cron }, 'stale cron tick skipped');
      return 'stale-tick';
    }
    const scheduledFor = scheduledTickOf(job);
    const outcome = await this.start(script, {
      trigger: {
        type: 'cron',
        cronExpression: tick.cron,
        timezone: tick.timezone ?? null,
        ...(scheduledFor !== null ? { scheduledFor: new Date(scheduledFor).toISOString() } : {}),
      },
      input: null,
      idempotencyKey: `kiln:cron:${job.id ?? `${script.id}:${job.timestamp}`}`,
    });
    return outcome.created ? 'started' : 'replayed';
  }

  async eventDispatch(job: Job): Promise<EventDispatchResult> {
    const event = eventDispatchPayload.parse(job.data);
    const log = this.logger.child({ tenantId: event.tenantId, eventType: event.type, depth: event.depth });
    if (event.depth > this.config.runs.eventMaxDepth) {
      // events.publish refuses these already; a job from elsewhere gets the same rule.
      log.warn({ sourceExecutionId: event.sourceExecutionId }, 'event chain too deep; dispatch dropped');
      return { started: 0, replayed: 0 };
    }
    const eventId = event.eventId ?? String(job.id);
    const subscribers = await this.scripts.findActiveByEventType(event.tenantId, event.type);
    const result: EventDispatchResult = { started: 0, replayed: 0 };
    for (const script of subscribers) {
      const outcome = await this.start(script, {
        trigger: {
          type: 'event',
          eventType: event.type,
          eventPayload: event.payload ?? null,
          eventId,
          depth: event.depth,
          sourceExecutionId: event.sourceExecutionId,
        },
        input: event.payload ?? null,
        idempotencyKey: `kiln:event:${eventId}:${script.id}`,
        apiKeyId: event.apiKeyId ?? null,
        chainDepth: event.depth,
        parentExecutionId: event.sourceExecutionId,
      });
      if (outcome.created) result.started += 1;
      else result.replayed += 1;
    }
    log.debug({ eventId, subscribers: subscribers.length, ...result }, 'event dispatched');
    return result;
  }

  private async start(script: Script, options: StartOptions): Promise<{ id: string; created: boolean }> {
    const created = await this.executions.create(
      {
        id: uuidv7(),
        tenantId: script.tenantId,
        scriptId: script.id,
        scriptVersion: script.currentVersion,
        apiKeyId: options.apiKeyId ?? null,
        trigger: options.trigger,
        input: options.input,
        metadata: null,
        webhookUrl: null,
        adhocSource: null,
        timeoutMs: script.timeoutMs,
        memoryMb: script.memoryMb,
        chainDepth: options.chainDepth ?? 0,
        parentExecutionId: options.parentExecutionId ?? null,
      },
      { key: options.idempotencyKey, ttlMs: this.config.runs.idempotencyTtlMs },
    );
    // Also on a replay: the first attempt may have died between the insert and
    // the enqueue. jobId = executionId makes a second enqueue a no-op, and a
    // finished execution's job is skipped by the claim.
    await this.queue.enqueueRun(created.id, { tenantId: script.tenantId, script: { id: script.id, version: script.currentVersion } });
    return created;
  }
}

/**
 * BullMQ names a scheduler's job `repeat:<schedulerId>:<tick in ms>`; the
 * tick is when the run was due, which makes "how late did cron start it"
 * measurable from the execution alone.
 */
function scheduledTickOf(job: Job): number | null {
  const last = String(job.id ?? '').split(':').pop();
  const millis = last !== undefined && /^\d{10,}$/.test(last) ? Number(last) : NaN;
  if (Number.isSafeInteger(millis)) return millis;
  const delay = typeof job.opts.delay === 'number' ? job.opts.delay : 0;
  return Number.isFinite(job.timestamp) ? job.timestamp + delay : null;
}

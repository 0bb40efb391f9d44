import { Inject, Injectable } from '@nestjs/common';
import type { KilnConfig } from '@kiln/config';
import { jsonHoldsUnstorable, SecretBox, toExecutionView, type ExecutionError } from '@kiln/core';
import { ExecutionRepository, type ClaimedExecution, type FinishedExecution, type FinishedUpdate } from '@kiln/db';
import { traceStep, type Logger } from '@kiln/observability';
import { InjectConfig, InjectLogger } from '@kiln/platform';
import { ExecutionSignals, scriptVersionRefOf, WebhookQueue, type ScriptVersionRef } from '@kiln/queue';
import { SandboxPool, type RunOutcome } from '@kiln/sandbox';
import { HostCapabilities } from './host-capabilities';
import { ScriptSourceCache, scriptVersionKey } from './script-source-cache';
import { StepRecorder } from './step-recorder';

/** The finished execution rides along on the done signal when at most this big. */
const MAX_VIEW_BYTES = 64 * 1024;
/** Script-version sources a worker keeps (UTF-16 bytes). */
const SOURCE_CACHE_BYTES = 64 * 1024 * 1024;

/** Thrown for failures that are not the script's: BullMQ retries the job. */
export class RetryableRunError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RetryableRunError';
  }
}

export type RunResult = 'skipped' | FinishedUpdate['status'];

export interface RunAttempt {
  number: number;
  isLast: boolean;
  /**
   * Whether a `running` row may be taken over: true when the job comes back
   * after a failure or a stall (its first worker is gone). A job on its first
   * start passes false, so a duplicate job never runs an execution twice.
   */
  reclaimRunning: boolean;
}

export interface RunOptions {
  /**
   * The tenant slot the run holds: released as the run's outcome is
   * announced, so that its Redis command shares the done signal's write;
   * the caller still releases it when the run ends otherwise.
   */
  releaseSlot?: () => Promise<void>;
  /** The script version the job says the run is of (a hint: the claimed row decides). */
  script?: ScriptVersionRef;
}

/**
 * One execution, start to end: claim the row (a cancelled or finished one is
 * skipped), run it in the sandbox, record the outcome in one statement, and
 * tell waiting gateways. User-code failures are recorded, never retried.
 */
@Injectable()
export class ExecutionRunner {
  constructor(
    @InjectConfig() private readonly config: KilnConfig,
    @InjectLogger() private readonly logger: Logger,
    private readonly executions: ExecutionRepository,
    private readonly signals: ExecutionSignals,
    private readonly box: SecretBox,
    private readonly host: HostCapabilities,
    @Inject(SandboxPool) private readonly pool: SandboxPool,
    private readonly webhooks: WebhookQueue,
  ) {}

  private readonly sources = new ScriptSourceCache(SOURCE_CACHE_BYTES);

  async run(executionId: string, attempt: RunAttempt, options: RunOptions = {}): Promise<RunResult> {
    const { releaseSlot, script } = options;
    const heldSource = script ? this.sources.get(script.id, script.version) : undefined;
    const claimed = await this.executions.claim(executionId, this.config.worker.id, {
      reclaimRunning: attempt.reclaimRunning,
      ...(script && heldSource !== undefined ? { knownSource: { scriptId: script.id, version: script.version, source: heldSource } } : {}),
    });
    if (!claimed) return 'skipped';
    const stored = claimed.adhocSource === null ? scriptVersionRefOf(claimed.scriptId, claimed.scriptVersion) : null;
    if (stored && claimed.source !== null) this.sources.set(stored.id, stored.version, claimed.source);
    traceStep('worker.claimed', executionId);
    void this.notifyWebhooks(claimed.webhookDeliveryIds);
    const log = this.logger.child({ executionId, tenantId: claimed.tenantId, scriptId: claimed.scriptId, attempt: attempt.number });
    const source = claimed.adhocSource ?? claimed.source;
    if (source === null) {
      return this.record(releaseSlot, claimed, { status: 'failed', error: { code: 'EXECUTION_ERROR', message: 'The script version of this execution no longer exists' }, logs: [], logsTruncated: false, durationMs: 0 });
    }

    const steps = new StepRecorder(this.host.forExecution(claimed));
    const outcome = await this.pool.run({
      runId: claimed.id,
      isolationKey: claimed.tenantId,
      source,
      // A script version's source never changes: a sandbox process that ran it keeps it.
      ...(stored ? { sourceKey: scriptVersionKey(stored.id, stored.version) } : {}),
      entry: claimed.approvalStatus === 'approved' ? 'onApproved' : 'main',
      globals: this.globalsFor(claimed),
      limits: {
        timeoutMs: claimed.timeoutMs,
        memoryMb: claimed.memoryMb,
        maxOutputBytes: this.config.runs.outputMaxBytes,
        maxLogBytes: this.config.runs.logMaxBytes,
        maxRequests: this.config.runs.outboundMaxRequests,
      },
      host: steps.call,
    });

    traceStep('worker.sandboxed', executionId);
    if (outcome.status === 'crashed') {
      if (!attempt.isLast) {
        log.warn({ reason: outcome.message }, 'sandbox process crashed; the run will be retried');
        throw new RetryableRunError(outcome.message);
      }
      log.error({ reason: outcome.message }, 'sandbox process crashed on the last attempt');
      return this.record(releaseSlot, claimed, { ...this.common(outcome), status: 'failed', error: { code: 'WORKER_LOST', message: `The sandbox process crashed on every attempt: ${outcome.message}` } });
    }
    const update: FinishedUpdate = { ...this.toUpdate(outcome), steps: steps.steps };
    log.debug({ status: update.status, durationMs: outcome.durationMs }, 'execution finished');
    return this.record(releaseSlot, claimed, update);
  }

  /**
   * Ends an execution whose job BullMQ gave up on (stalled too often, or
   * crashed on the last attempt). `onlyRunning` for a batch job's runs: one
   * that never started there is still pending and has, or gets from the
   * reconciler, a job of its own.
   */
  async markLost(executionId: string, reason: string, options: { onlyRunning?: boolean } = {}): Promise<void> {
    const error: ExecutionError = { code: 'WORKER_LOST', message: `The run was lost ${reason}; its attempts are exhausted` };
    const finished = await this.executions.failIfUnfinished(executionId, error, options);
    if (!finished) return;
    await this.notifyWebhooks(finished.webhookDeliveryIds);
    await this.signals.publishDone({ executionId, status: finished.status });
  }

  /**
   * Enqueues the outbox rows a status change wrote, after its commit. Never
   * throws: a row whose enqueue is lost here is sent by the notifier's relay.
   */
  private async notifyWebhooks(deliveryIds: string[]): Promise<void> {
    if (deliveryIds.length === 0) return;
    try {
      await this.webhooks.enqueueNew(deliveryIds);
    } catch (err) {
      this.logger.warn({ err, deliveryIds }, 'could not enqueue webhook deliveries; the notifier relay will send them');
    }
  }

  private globalsFor(claimed: ClaimedExecution) {
    const env = claimed.envEnc ? this.box.openJson<Record<string, string>>(claimed.envEnc) : {};
    const trigger = claimed.trigger as Record<string, unknown>;
    // HTTP endpoint runs get their request's query and body, like API runs (SPEC §5).
    const http = isRecord(trigger.httpRequest) ? trigger.httpRequest : null;
    const eventData = (trigger.eventData) ?? (http ? { query: http.query ?? {}, body: http.body ?? null } : { query: {}, body: claimed.input });
    return {
      input: claimed.input,
      context: {
        tenantId: claimed.tenantId,
        userId: claimed.apiKeyId,
        scriptId: claimed.scriptId,
        executionId: claimed.id,
        input: claimed.input,
        env,
        trigger: {
          type: trigger.type,
          cronExpression: trigger.cronExpression ?? null,
          httpRequest: trigger.httpRequest ?? null,
          eventType: trigger.eventType ?? null,
          eventPayload: trigger.eventPayload ?? null,
        },
      },
      eventData,
      requestUser: (trigger.requestUser) ?? (claimed.apiKeyId ? { _id: claimed.apiKeyId, tenantId: claimed.tenantId } : null),
      // Extra handler-argument fields a surface asked for (ApiRun: eventName, apiKey, scriptId).
      handlerExtras: isRecord(trigger.handlerExtras) ? trigger.handlerExtras : undefined,
      approvalData: claimed.approval,
      comment: claimed.approvalComment,
    };
  }

  private common(outcome: RunOutcome): Pick<FinishedUpdate, 'logs' | 'logsTruncated' | 'durationMs'> {
    return { logs: outcome.logs, logsTruncated: outcome.logsTruncated, durationMs: Math.round(outcome.durationMs) };
  }

  private toUpdate(outcome: Exclude<RunOutcome, { status: 'crashed' }>): FinishedUpdate {
    switch (outcome.status) {
      case 'completed':
        return { ...this.common(outcome), status: 'completed', output: outcome.output ?? null, error: null };
      case 'failed':
        return { ...this.common(outcome), status: 'failed', error: outcome.error };
      case 'cancelled':
        return { ...this.common(outcome), status: 'cancelled', error: null };
      case 'suspended':
        return { ...this.common(outcome), status: 'pending_approval', approval: outcome.approval, error: null };
    }
  }

  private async record(releaseSlot: (() => Promise<void>) | undefined, claimed: ClaimedExecution, update: FinishedUpdate): Promise<RunResult> {
    const finished = await this.executions.finish(claimed.id, update);
    if (!finished) return 'skipped'; // cancelled meanwhile: the first recorded outcome stands
    traceStep('worker.finished', claimed.id);
    // A waiting caller is told at once, not after the webhook jobs are queued.
    await Promise.all([
      this.notifyWebhooks(finished.webhookDeliveryIds),
      this.signals.publishDone({ executionId: claimed.id, status: finished.status, viewJson: this.viewJsonIfSmall(claimed, update, finished) }, releaseSlot),
    ]);
    return update.status;
  }

  private viewJsonIfSmall(claimed: ClaimedExecution, update: FinishedUpdate, finished: FinishedExecution): string | undefined {
    const view = toExecutionView({
      id: claimed.id,
      status: finished.status,
      scriptId: claimed.scriptId,
      scriptVersion: claimed.scriptVersion,
      trigger: claimed.trigger,
      input: claimed.input,
      output: update.output ?? null,
      logs: update.logs,
      logsTruncated: update.logsTruncated,
      error: update.error ?? null,
      attempts: claimed.attempts,
      workerId: this.config.worker.id,
      retryOf: null,
      metadata: claimed.metadata,
      approval: update.approval ?? claimed.approval,
      approvalStatus: claimed.approvalStatus,
      approvalComment: claimed.approvalComment,
      createdAt: claimed.createdAt,
      startedAt: finished.startedAt,
      finishedAt: finished.finishedAt,
      durationMs: update.durationMs,
      queueWaitMs: claimed.queueWaitMs,
    });
    // retryOf is not part of the claim, and a NUL or lone surrogate was stored as U+FFFD: let the gateway read the row when either matters.
    const json = JSON.stringify(view);
    return json.length <= MAX_VIEW_BYTES && !claimedIsRetry(claimed) && !jsonHoldsUnstorable(json) ? json : undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function claimedIsRetry(claimed: ClaimedExecution): boolean {
  return (claimed.trigger as { type?: string }).type === 'retry';
}

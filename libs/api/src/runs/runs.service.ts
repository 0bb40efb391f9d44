import { Injectable } from '@nestjs/common';
import type { KilnConfig } from '@kiln/config';
import {
  isTerminalStatus,
  KilnError,
  toExecutionView,
  uuidv7,
  validateInput,
  type ExecutionStatus,
  type ExecutionTrigger,
  type ExecutionView,
} from '@kiln/core';
import { ExecutionRepository, type ScriptWithSource } from '@kiln/db';
import { traceStep, type Logger } from '@kiln/observability';
import { InjectConfig, InjectLogger } from '@kiln/platform';
import { ExecutionQueue, ExecutionSignals, scriptVersionRefOf, type ExecutionDoneMessage } from '@kiln/queue';
import type { PreAdmittedRun } from '../limits/pre-admitted-run';
import { RunAdmission } from './run-admission';
import { RunBackpressure } from './run-backpressure';

export type RunTarget =
  | { kind: 'script'; script: ScriptWithSource }
  | { kind: 'adhoc'; source: string; timeoutMs: number; memoryMb: number };

export interface RunCommand {
  tenantId: string;
  apiKeyId: string | null;
  monthlyExecutionLimit: number | null;
  target: RunTarget;
  input: unknown;
  trigger: ExecutionTrigger;
  metadata?: unknown;
  webhookUrl?: string | null;
  idempotencyKey?: string | null;
  /** 0: answer at once (202). Otherwise wait up to this many ms for the end. */
  waitMs: number;
  retryOf?: string | null;
  chainDepth?: number;
  parentExecutionId?: string | null;
  /** Manual runs may start drafts; triggers (cron, http, events) may not. */
  allowDraft?: boolean;
  /** The quotas the API key guard decided with the request's token (@StartsRun routes). */
  preAdmitted?: PreAdmittedRun;
}

export interface RunOutcome {
  executionId: string;
  status: ExecutionStatus;
  scriptId: string | null;
  scriptVersion: number | null;
  createdAt: Date;
  /** false when an idempotency key matched an earlier execution. */
  created: boolean;
  /** Set when the execution ended (or parked for approval) within the wait. */
  finished: ExecutionView | null;
}

/**
 * Accepting a run: admission, one INSERT (with the idempotency key), one
 * BullMQ job; in wait mode, the answer arrives over Redis pub/sub. Every API
 * surface (native, compatibility, HTTP endpoints, events) goes through here.
 */
@Injectable()
export class RunsService {
  constructor(
    @InjectConfig() private readonly config: KilnConfig,
    @InjectLogger() private readonly logger: Logger,
    private readonly executions: ExecutionRepository,
    private readonly queue: ExecutionQueue,
    private readonly signals: ExecutionSignals,
    private readonly admission: RunAdmission,
    private readonly backpressure: RunBackpressure,
  ) {}

  /** `wait` of a run request → milliseconds (SPEC §4: true = up to 40 s). */
  waitMsFrom(wait: boolean | number | undefined): number {
    if (wait === undefined || wait === false) return 0;
    const max = this.config.runs.waitMaxMs;
    return wait === true ? max : Math.min(Math.max(0, Math.floor(wait)), max);
  }

  async start(command: RunCommand): Promise<RunOutcome> {
    const { target } = command;
    if (target.kind === 'script') this.checkRunnable(target.script, command.allowDraft ?? true, command.input);
    // Held while the queue is at its high-water mark (503 QUEUE_FULL when it does not drain); counted only after.
    await this.backpressure.admit();
    const admitted = await this.admission.admit(
      { tenantId: command.tenantId, apiKeyId: command.apiKeyId, monthlyExecutionLimit: command.monthlyExecutionLimit },
      command.preAdmitted,
    );

    const id = uuidv7();
    traceStep('gateway.admitted', id);
    const scriptId = target.kind === 'script' ? target.script.id : null;
    const scriptVersion = target.kind === 'script' ? target.script.currentVersion : null;
    const waiter = command.waitMs > 0 ? this.signals.waitFor(id, command.waitMs) : null;
    const started = Date.now();
    let created: { id: string; created: boolean; createdAt: Date };
    try {
      created = await this.executions.create(
        {
          id,
          tenantId: command.tenantId,
          scriptId,
          scriptVersion,
          apiKeyId: command.apiKeyId,
          trigger: command.trigger,
          input: command.input ?? null,
          metadata: command.metadata ?? null,
          webhookUrl: command.webhookUrl ?? null,
          adhocSource: target.kind === 'adhoc' ? target.source : null,
          timeoutMs: target.kind === 'script' ? target.script.timeoutMs : target.timeoutMs,
          memoryMb: target.kind === 'script' ? target.script.memoryMb : target.memoryMb,
          retryOf: command.retryOf ?? null,
          chainDepth: command.chainDepth ?? 0,
          parentExecutionId: command.parentExecutionId ?? null,
        },
        command.idempotencyKey ? { key: command.idempotencyKey, ttlMs: this.config.runs.idempotencyTtlMs } : undefined,
        // A waiting caller is answered only after a durable commit (the run's end, or confirmStatus below).
        { durable: waiter === null },
      );
    } catch (err) {
      waiter?.cancel();
      await admitted.refund();
      throw err;
    }

    traceStep('gateway.inserted', id);
    if (!created.created) {
      waiter?.cancel();
      // The first run of this idempotency key was counted; a replay is not a new run.
      await admitted.refund();
      return this.replay(created.id, command.tenantId, command.waitMs - (Date.now() - started));
    }

    try {
      await this.queue.enqueueNewRun(id, command.tenantId, scriptVersionRefOf(scriptId, scriptVersion));
    } catch (err) {
      waiter?.cancel();
      this.logger.error({ err, executionId: id, tenantId: command.tenantId }, 'enqueue failed; run not accepted');
      await this.executions.deleteUnqueued(id).catch(() => undefined);
      await admitted.refund();
      throw new KilnError(503, 'QUEUE_UNAVAILABLE', 'The run queue is unavailable (Redis); nothing was started, retry later');
    }

    traceStep('gateway.enqueued', id);
    const base = { executionId: id, scriptId, scriptVersion, createdAt: created.createdAt, created: true };
    if (!waiter) return { ...base, status: 'pending', finished: null };
    const message = await waiter.promise;
    traceStep('gateway.signalled', id);
    if (!message) {
      // No end within the wait, so no durable commit has followed the relaxed insert yet: make one before naming the run.
      const status = await this.executions.confirmStatus(command.tenantId, id);
      if (status === null) throw new KilnError(503, 'RUN_LOST', 'The run was lost before it started (the database restarted); nothing ran, retry');
      return { ...base, status, finished: null };
    }
    const finished = await this.awaitFinish(id, command.tenantId, message);
    return { ...base, status: finished?.status ?? (await this.currentStatus(command.tenantId, id)), finished };
  }

  /**
   * Wait for an existing execution: used by idempotent replays and by
   * cancel. Registers the wait before reading, so an end in between is seen.
   */
  async waitForExisting(tenantId: string, executionId: string, waitMs: number): Promise<ExecutionView | null> {
    const waiter = waitMs > 0 ? this.signals.waitFor(executionId, waitMs) : null;
    const current = await this.executions.findById(tenantId, executionId);
    if (!current) {
      waiter?.cancel();
      return null;
    }
    if (!waiter || isTerminalStatus(current.status) || current.status === 'pending_approval') {
      waiter?.cancel();
      return toExecutionView(current);
    }
    const message = await waiter.promise;
    if (message) return this.awaitFinish(executionId, tenantId, message);
    const latest = await this.executions.findById(tenantId, executionId);
    return latest ? toExecutionView(latest) : null;
  }

  private async replay(executionId: string, tenantId: string, waitMs: number): Promise<RunOutcome> {
    const view = await this.waitForExisting(tenantId, executionId, Math.max(0, waitMs));
    if (!view) throw KilnError.notFound('Execution', executionId);
    const done = isTerminalStatus(view.status) || view.status === 'pending_approval';
    return {
      executionId,
      status: view.status,
      scriptId: view.scriptId,
      scriptVersion: view.scriptVersion,
      createdAt: new Date(view.createdAt),
      created: false,
      finished: done && waitMs > 0 ? view : null,
    };
  }

  private async awaitFinish(executionId: string, tenantId: string, message: ExecutionDoneMessage | null): Promise<ExecutionView | null> {
    if (!message) return null;
    if (message.view) return message.view as ExecutionView;
    const row = await this.executions.findById(tenantId, executionId);
    return row ? toExecutionView(row) : null;
  }

  private async currentStatus(tenantId: string, executionId: string): Promise<ExecutionStatus> {
    const row = await this.executions.findById(tenantId, executionId);
    return (row?.status) ?? 'pending';
  }

  private checkRunnable(script: ScriptWithSource, allowDraft: boolean, input: unknown): void {
    if (script.status === 'paused' || (script.status === 'draft' && !allowDraft)) {
      throw KilnError.conflict('SCRIPT_INACTIVE', `Script '${script.name}' is ${script.status} and cannot run${script.status === 'draft' ? ' from a trigger' : ''}`, {
        status: script.status,
      });
    }
    if (script.inputSchema && typeof script.inputSchema === 'object') {
      const problems = validateInput(script.inputSchema, input ?? null);
      if (problems.length > 0) {
        throw new KilnError(400, 'INVALID_INPUT', 'Input does not match the script inputSchema', { fields: problems });
      }
    }
  }
}

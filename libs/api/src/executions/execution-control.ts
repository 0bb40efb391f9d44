import { Injectable } from '@nestjs/common';
import { isTerminalStatus, KilnError, toExecutionView, type ExecutionView } from '@kiln/core';
import { ExecutionRepository } from '@kiln/db';
import { ExecutionQueue, ExecutionSignals, scriptVersionRefOf, type ScriptVersionRef } from '@kiln/queue';
import type { AuthContext } from '../auth/auth-context';
import { ScriptCache } from '../scripts/script-cache';
import { RunsService, type RunOutcome } from '../runs/runs.service';
import { WebhookDispatch } from '../webhooks/webhook-dispatch';

/** How long cancel waits for a running isolate to be killed before answering. */
const CANCEL_WAIT_MS = 3_000;

/**
 * State changes a client asks for on an existing execution: cancel, retry,
 * approve, reject. Shared by the native API and the compatibility surfaces.
 */
@Injectable()
export class ExecutionControl {
  constructor(
    private readonly executions: ExecutionRepository,
    private readonly queue: ExecutionQueue,
    private readonly signals: ExecutionSignals,
    private readonly runs: RunsService,
    private readonly scripts: ScriptCache,
    private readonly webhooks: WebhookDispatch,
  ) {}

  /**
   * pending: never runs (row flipped, job removed). running: every worker
   * hears the cancel and the one running it kills the isolate; we wait for
   * its recorded outcome. Finished: 409.
   */
  async cancel(tenantId: string, id: string): Promise<ExecutionView> {
    const execution = await this.executions.findById(tenantId, id);
    if (!execution) throw KilnError.notFound('Execution', id);
    if (isTerminalStatus(execution.status)) {
      throw KilnError.conflict('EXECUTION_FINISHED', `Execution is already ${execution.status}`, { status: execution.status });
    }
    const cancelled = await this.executions.cancelIfWaiting(tenantId, id);
    if (cancelled) {
      await this.webhooks.afterCommit(cancelled.webhookDeliveryIds);
      await this.queue.removeRun(id);
      await this.signals.publishDone({ executionId: id, status: 'cancelled' });
      const row = await this.executions.findById(tenantId, id);
      return toExecutionView(row ?? execution);
    }
    // Running (or it started between our read and the update).
    const waiter = this.runs.waitForExisting(tenantId, id, CANCEL_WAIT_MS);
    await this.signals.publishCancel(id);
    const view = await waiter;
    if (!view) throw KilnError.notFound('Execution', id);
    return view;
  }

  async retry(auth: AuthContext, id: string, wait: boolean | number | undefined): Promise<RunOutcome> {
    const original = await this.executions.findById(auth.tenantId, id);
    if (!original) throw KilnError.notFound('Execution', id);
    if (!isTerminalStatus(original.status)) {
      throw KilnError.conflict('EXECUTION_NOT_FINISHED', `Only a finished execution can be retried; this one is ${original.status}`, {
        status: original.status,
      });
    }
    const common = {
      tenantId: auth.tenantId,
      apiKeyId: auth.apiKeyId,
      monthlyExecutionLimit: auth.monthlyExecutionLimit,
      input: original.input,
      metadata: original.metadata,
      webhookUrl: original.webhookUrl,
      trigger: { type: 'retry' as const, retryOf: original.id },
      retryOf: original.id,
      waitMs: this.runs.waitMsFrom(wait),
    };
    if (original.adhocSource !== null) {
      return this.runs.start({
        ...common,
        target: { kind: 'adhoc', source: original.adhocSource, timeoutMs: original.timeoutMs, memoryMb: original.memoryMb },
      });
    }
    const script = original.scriptId ? await this.scripts.get(auth.tenantId, original.scriptId) : null;
    if (!script) throw KilnError.conflict('SCRIPT_DELETED', 'The script of this execution no longer exists', { scriptId: original.scriptId });
    return this.runs.start({ ...common, target: { kind: 'script', script } });
  }

  /** The continuation runs the script's onApproved export on a worker. */
  async approve(tenantId: string, id: string, comment: string | null): Promise<ExecutionView> {
    const script = await this.decide(tenantId, id, 'approved', comment);
    await this.queue.enqueueRun(id, { jobIdSuffix: 'approved', tenantId, script });
    const row = await this.executions.findById(tenantId, id);
    if (!row) throw KilnError.notFound('Execution', id);
    return toExecutionView(row);
  }

  async reject(tenantId: string, id: string, comment: string | null): Promise<ExecutionView> {
    await this.decide(tenantId, id, 'rejected', comment);
    await this.signals.publishDone({ executionId: id, status: 'cancelled' });
    const row = await this.executions.findById(tenantId, id);
    if (!row) throw KilnError.notFound('Execution', id);
    return toExecutionView(row);
  }

  /** Returns the execution's script version, for the continuation's job. */
  private async decide(tenantId: string, id: string, decision: 'approved' | 'rejected', comment: string | null): Promise<ScriptVersionRef | null> {
    const decided = await this.executions.decideApproval(tenantId, id, decision, comment);
    if (decided) {
      // A rejection ends the execution: execution.cancelled goes out.
      await this.webhooks.afterCommit(decided.webhookDeliveryIds);
      return scriptVersionRefOf(decided.scriptId, decided.scriptVersion);
    }
    const execution = await this.executions.findById(tenantId, id);
    if (!execution) throw KilnError.notFound('Execution', id);
    throw KilnError.conflict('NOT_PENDING_APPROVAL', `Execution is ${execution.status}, not pending_approval`, { status: execution.status });
  }
}

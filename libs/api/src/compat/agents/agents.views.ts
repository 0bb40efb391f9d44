import type { Execution } from '@kiln/db';
import { executionErrorMessage } from '../compat-problem';

// Document 002's statuses are Kiln's own (pending, running, completed,
// failed, cancelled, pending_approval): no mapping.

/**
 * The acceptance time is `startedAt` on this surface: the execute answer
 * reports it before a worker has started the run, and every later answer
 * keeps the same value (the document shows one timestamp throughout).
 */
const startedAt = (e: Execution) => e.createdAt.toISOString();
const completedAt = (e: Execution) => e.finishedAt?.toISOString() ?? null;
const errorMessage = (e: Execution) => executionErrorMessage(e.error);

/** `approvalStatus`: pending while parked, then Kiln's decision (approved | rejected); null when never asked. */
function approvalStatus(e: Execution): string | null {
  if (e.status === 'pending_approval') return 'pending';
  return e.approvalStatus;
}

export function statusView(e: Execution) {
  return { id: e.id, status: e.status, startedAt: startedAt(e), completedAt: completedAt(e), error: errorMessage(e), approvalStatus: approvalStatus(e) };
}

export function resultsView(e: Execution) {
  return { id: e.id, status: e.status, output: e.output ?? null, error: errorMessage(e), startedAt: startedAt(e), completedAt: completedAt(e) };
}

/** `workflowId` is the script's id (as in webhook payloads), even when the run was started by name. */
export function pendingApprovalView(e: Execution) {
  const approval = (e.approval ?? {}) as Record<string, unknown>;
  return {
    id: e.id,
    workflowId: e.scriptId,
    status: e.status,
    approvalData: { rows: approval.rows ?? [], metadata: approval.metadata ?? {}, displayFields: approval.displayFields ?? [] },
    startedAt: startedAt(e),
  };
}

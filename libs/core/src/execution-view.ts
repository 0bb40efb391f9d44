import type { ExecutionError, ExecutionStatus, ExecutionTrigger } from './execution-status';

/** An execution as the native API returns it (SPEC §4). */
export interface ExecutionView {
  id: string;
  status: ExecutionStatus;
  scriptId: string | null;
  scriptVersion: number | null;
  trigger: ExecutionTrigger;
  input: unknown;
  output: unknown;
  logs: unknown[];
  logsTruncated: boolean;
  error: ExecutionError | null;
  attempts: number;
  workerId: string | null;
  retryOf: string | null;
  metadata: unknown;
  approval: unknown;
  approvalStatus: string | null;
  approvalComment: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  queueWaitMs: number | null;
}

/** The fields of a stored execution the view is made from (a Prisma row fits). */
export interface ExecutionViewSource {
  id: string;
  status: string;
  scriptId: string | null;
  scriptVersion: number | null;
  trigger: unknown;
  input: unknown;
  output: unknown;
  logs: unknown;
  logsTruncated: boolean;
  error: unknown;
  attempts: number;
  workerId: string | null;
  retryOf: string | null;
  metadata: unknown;
  approval: unknown;
  approvalStatus: string | null;
  approvalComment: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  durationMs: number | null;
  queueWaitMs: number | null;
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function toExecutionView(e: ExecutionViewSource): ExecutionView {
  return {
    id: e.id,
    status: e.status as ExecutionStatus,
    scriptId: e.scriptId,
    scriptVersion: e.scriptVersion,
    trigger: e.trigger as ExecutionTrigger,
    input: e.input ?? null,
    output: e.output ?? null,
    logs: Array.isArray(e.logs) ? e.logs : [],
    logsTruncated: e.logsTruncated,
    error: (e.error as ExecutionError | null) ?? null,
    attempts: e.attempts,
    workerId: e.workerId,
    retryOf: e.retryOf,
    metadata: e.metadata ?? null,
    approval: e.approval ?? null,
    approvalStatus: e.approvalStatus,
    approvalComment: e.approvalComment,
    createdAt: e.createdAt.toISOString(),
    startedAt: iso(e.startedAt),
    finishedAt: iso(e.finishedAt),
    durationMs: e.durationMs,
    queueWaitMs: e.queueWaitMs,
  };
}

import type { ExecutionView } from '@kiln/core';
import type { ApiRunFailure } from './api-run.envelope';

export interface ApiRunSuccess {
  success: true;
  data: unknown;
  executionTime: number;
  scriptId: string;
}

export interface ApiRunAnswer {
  statusCode: number;
  body: ApiRunSuccess | ApiRunFailure;
}

export interface ApiRunResult {
  scriptId: string;
  executionId: string;
  /** The execution when it ended (or parked for approval) within the wait; null when the wait ran out. */
  finished: ExecutionView | null;
  /** Wall time of the request so far, for answers without a recorded run time. */
  elapsedMs: number;
  waitedMs: number;
  /** Document 000: `details.stack` "only in development" (NODE_ENV=development). */
  exposeStack: boolean;
}

function failure(r: ApiRunResult, statusCode: number, code: string, message: string, details: Record<string, unknown>, executionTime: number): ApiRunAnswer {
  return { statusCode, body: { success: false, error: { message, code, statusCode, details }, executionTime, scriptId: r.scriptId } };
}

/**
 * A finished execution in document 000's response format: the handler's
 * return value as `data`, the run time in ms as `executionTime`; a script
 * that threw is 500 INTERNAL_ERROR "Script execution failed: …", a run over
 * its time limit 504 TIMEOUT (document 001's timeout status).
 */
export function apiRunAnswer(r: ApiRunResult): ApiRunAnswer {
  const view = r.finished;
  const notFinished = () =>
    failure(r, 504, 'TIMEOUT', `Script did not finish within ${r.waitedMs} ms; it keeps running`, { executionId: r.executionId }, Math.round(r.elapsedMs));
  if (!view) return notFinished();
  const executionTime = view.durationMs ?? Math.round(r.elapsedMs);
  switch (view.status) {
    case 'pending':
    case 'running':
      return notFinished();
    case 'completed':
      return { statusCode: 200, body: { success: true, data: view.output, executionTime, scriptId: r.scriptId } };
    case 'pending_approval':
      // The script called approval.request: it continues once approved (POST /v1/executions/:id/approve).
      return { statusCode: 202, body: { success: true, data: { executionId: r.executionId, status: 'pending_approval' }, executionTime, scriptId: r.scriptId } };
    case 'cancelled':
      return failure(r, 500, 'INTERNAL_ERROR', 'Script execution failed: the execution was cancelled', { executionId: r.executionId }, executionTime);
    case 'failed': {
      const error = view.error;
      const details: Record<string, unknown> = { executionId: r.executionId };
      if (error?.code === 'TIMEOUT') return failure(r, 504, 'TIMEOUT', `Script execution failed: ${error.message}`, details, executionTime);
      if (error && error.code !== 'EXECUTION_ERROR') details.reason = error.code;
      if (r.exposeStack && error?.stack) details.stack = error.stack;
      return failure(r, 500, 'INTERNAL_ERROR', `Script execution failed: ${error?.message ?? 'unknown error'}`, details, executionTime);
    }
  }
}

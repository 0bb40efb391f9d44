import type { ExecutionView } from '@kiln/core';

/** Document 004's execution statuses. */
export type CodeStatus = 'success' | 'error' | 'timeout' | 'validation_error' | 'memory_limit';

export interface CodeResult {
  status: CodeStatus;
  /** The console lines joined with newlines. */
  output: string;
  error: string | null;
  /** Seconds (float), as the document shows (0.042). */
  execution_time: number;
  /** One formatted line per console call (`console.log("Evens:", [2,4])` → `Evens: 2,4`). */
  console_logs: string[];
  /** `results` of top-level code, or what a handler returned. */
  return_value: unknown;
}

const seconds = (ms: number) => Math.round(ms) / 1000;

function consoleLines(view: ExecutionView | null): string[] {
  if (!view) return [];
  return view.logs.map((entry) => {
    const message = (entry as { message?: unknown }).message;
    return typeof message === 'string' ? message : '';
  });
}

export function validationFailure(error: string): CodeResult {
  return { status: 'validation_error', output: '', error, execution_time: 0, console_logs: [], return_value: null };
}

/**
 * A finished ad-hoc run in document 004's result shape. `timeoutMs` is the
 * requested `timeout_ms`, for the document's "Execution timeout (>5000ms)".
 */
export function codeResult(view: ExecutionView | null, timeoutMs: number, elapsedMs: number): CodeResult {
  const console_logs = consoleLines(view);
  // In the document's key order.
  const result = (status: CodeStatus, error: string | null, return_value: unknown = null): CodeResult => ({
    status,
    output: console_logs.join('\n'),
    error,
    execution_time: seconds(view?.durationMs ?? elapsedMs),
    console_logs,
    return_value,
  });
  const timedOut = () => result('timeout', `Execution timeout (>${timeoutMs}ms)`);
  if (!view) return timedOut();
  switch (view.status) {
    case 'pending':
    case 'running':
      return timedOut();
    case 'completed':
      return result('success', null, view.output ?? null);
    case 'pending_approval':
      return result('error', 'approval.request is not available on this surface');
    case 'cancelled':
      return result('error', 'Execution was cancelled');
    case 'failed': {
      const error = view.error;
      if (error?.code === 'TIMEOUT') return timedOut();
      if (error?.code === 'MEMORY_LIMIT') return result('memory_limit', error.message);
      return result('error', error?.message ?? 'Execution failed');
    }
  }
}

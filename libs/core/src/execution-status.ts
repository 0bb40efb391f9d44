export const EXECUTION_STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled', 'pending_approval'] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

export const TERMINAL_STATUSES: ReadonlySet<ExecutionStatus> = new Set(['completed', 'failed', 'cancelled']);

export function isTerminalStatus(status: ExecutionStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}

/** error.code of a failed execution (SPEC §4). */
export const EXECUTION_ERROR_CODES = [
  'EXECUTION_ERROR',
  'TIMEOUT',
  'MEMORY_LIMIT',
  'OUTPUT_LIMIT',
  'WORKER_LOST',
  'INVALID_OUTPUT',
] as const;
export type ExecutionErrorCode = (typeof EXECUTION_ERROR_CODES)[number];

export interface ExecutionError {
  code: ExecutionErrorCode;
  message: string;
  stack?: string;
}

export const TRIGGER_TYPES = ['api', 'cron', 'http', 'event', 'retry', 'manual'] as const;
export type TriggerType = (typeof TRIGGER_TYPES)[number];

export interface ExecutionTrigger {
  type: TriggerType;
  [key: string]: unknown;
}

export const SCRIPT_STATUSES = ['draft', 'active', 'paused'] as const;
export type ScriptStatus = (typeof SCRIPT_STATUSES)[number];

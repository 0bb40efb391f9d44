/** Per-run resource limits; every number is enforced by the sandbox itself. */
export interface SandboxLimits {
  timeoutMs: number;
  memoryMb: number;
  maxOutputBytes: number;
  maxLogBytes: number;
  /** Outbound requests (fetch and sdk.http together) a run may make. */
  maxRequests: number;
}

/**
 * The worker's capabilities as seen by a script: JSON in, JSON out. A thrown
 * Error rejects the script's promise with the same message.
 */
export type HostCall = (op: string, args: unknown[]) => Promise<unknown>;

export type RunEntry = 'main' | 'onApproved';

export interface RunGlobals {
  input: unknown;
  context: Record<string, unknown>;
  eventData?: unknown;
  requestUser?: unknown;
  approvalData?: unknown;
  comment?: string | null;
  /** More fields for the handler argument (never shadowing the globals above). */
  handlerExtras?: Record<string, unknown>;
}

export interface RunRequest {
  runId: string;
  /** Runs with the same key (a tenant) may reuse each other's isolates, one at a time. */
  isolationKey: string;
  source: string;
  /**
   * Names `source` for good (a script version: the same key never stands
   * for other code). A child that already holds it gets the key alone.
   */
  sourceKey?: string;
  entry: RunEntry;
  globals: RunGlobals;
  limits: SandboxLimits;
  host?: HostCall;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'log';

export interface LogEntry {
  level: LogLevel;
  message: string;
  /** ISO 8601 */
  time: string;
  meta?: unknown;
}

export type FailureCode = 'EXECUTION_ERROR' | 'TIMEOUT' | 'MEMORY_LIMIT' | 'OUTPUT_LIMIT' | 'INVALID_OUTPUT';

export interface RunFailure {
  code: FailureCode;
  message: string;
  stack?: string;
}

export interface ApprovalRequest {
  rows: unknown;
  metadata: unknown;
  displayFields: unknown;
}

export type RunResult =
  | { status: 'completed'; output: unknown }
  | { status: 'failed'; error: RunFailure }
  | { status: 'cancelled' }
  | { status: 'suspended'; approval: ApprovalRequest }
  /** The sandbox process died for a reason that is not this script's fault: retry it. */
  | { status: 'crashed'; message: string };

export interface RunReport {
  logs: LogEntry[];
  logsTruncated: boolean;
  durationMs: number;
}

export type RunOutcome = RunResult & RunReport;

export interface SandboxLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface SandboxPoolOptions {
  processes: number;
  runsPerProcess: number;
  /** Compiled child entry; defaults to the one next to this library (dist or sources). */
  childModulePath?: string;
  /** Extra node flags for the children (e.g. `--max-old-space-size=512`). */
  childExecArgv?: string[];
  /** The children's whole environment; nothing of the worker's is inherited. */
  childEnv?: Record<string, string>;
  /** Sources (runs with a `sourceKey`) each child keeps, in UTF-16 bytes; default 32 MiB. */
  sourceCacheBytes?: number;
  logger?: SandboxLogger;
}

export interface SandboxStats {
  /** Live child processes. */
  processes: number;
  /** Runs executing in a child right now. */
  busy: number;
  /** Runs waiting for a free slot. */
  queued: number;
  capacity: number;
  /** Children replaced after dying. */
  restarts: number;
  pids: number[];
}

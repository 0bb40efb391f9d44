export { SandboxPool } from './pool/sandbox-pool';
export type {
  ApprovalRequest,
  FailureCode,
  HostCall,
  LogEntry,
  LogLevel,
  RunEntry,
  RunFailure,
  RunGlobals,
  RunOutcome,
  RunReport,
  RunRequest,
  RunResult,
  SandboxLimits,
  SandboxLogger,
  SandboxPoolOptions,
  SandboxStats,
} from './sandbox.types';

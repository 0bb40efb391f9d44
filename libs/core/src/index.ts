export { apiKeyPrefix, generateApiKey, hashApiKey, hashesEqual, isApiKeyFormat } from './api-key';
export { checkCron, type CronCheck } from './cron';
export {
  EXECUTION_ERROR_CODES,
  EXECUTION_STATUSES,
  SCRIPT_STATUSES,
  TERMINAL_STATUSES,
  TRIGGER_TYPES,
  isTerminalStatus,
  type ExecutionError,
  type ExecutionErrorCode,
  type ExecutionStatus,
  type ExecutionTrigger,
  type ScriptStatus,
  type TriggerType,
} from './execution-status';
export { HTTP_METHODS, isValidEndpointPath, normalizeEndpointPath, type HttpMethod } from './http-path';
export { isUuid, uuidv7 } from './ids';
export { checkInputSchema, validateInput, type InputProblem, type SchemaCheck } from './input-schema';
export { KilnError } from './kiln-error';
export { DEFAULT_SCOPES, SCOPES, hasScope, isScope, type Scope } from './scopes';
export { SecretBox } from './secret-box';
export {
  IMPORTS_REFUSED,
  analyzeSource,
  scriptBodyError,
  type ScriptStyle,
  type SourceAnalysis,
  type SourceLocationError,
} from './source-analysis';
export { toExecutionView, type ExecutionView, type ExecutionViewSource } from './execution-view';
export { checkBracketBalance, type BracketBalance, type BracketKind } from './bracket-balance';
export { MAX_RECORDED_STEPS, hasWarnings, hostCallStep, jsonByteLength, redactUrl, storedSteps, type ExecutionStep } from './execution-steps';
export { GroupCommit } from './group-commit';
export { ByteBudgetLru } from './byte-budget-lru';
export { jsonHoldsUnstorable, toPostgresJson } from './postgres-json';

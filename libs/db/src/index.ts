export { ApiKeyRepository, type ApiKey, type ApiKeyChanges, type ApiKeyWithTenant, type NewApiKey } from './api-key.repository';
export { Database, isUniqueViolation, type DatabaseOptions } from './database';
export { DatabaseModule } from './database.module';
export {
  ExecutionRepository,
  type ClaimedExecution,
  type Execution,
  type ExecutionFilter,
  type ExecutionSummary,
  type FinishedExecution,
  type FinishedUpdate,
  type LogEntry,
  type NewExecution,
} from './execution.repository';
export {
  ScriptConflictError,
  ScriptRepository,
  type HttpRoute,
  type Script,
  type ScriptConflict,
  type ScriptFields,
  type ScriptVersion,
  type ScriptWithSource,
} from './script.repository';
export { TenantRepository, type Tenant } from './tenant.repository';

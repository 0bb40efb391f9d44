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
  type StatusChange,
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
export { TenantRepository, type Tenant, type TenantLimitChanges } from './tenant.repository';
export { UsageRepository } from './usage.repository';
export {
  WebhookDeliveryRepository,
  type AttemptRecord,
  type DeliveryFilter,
  type DeliveryForSending,
  type RelayCandidate,
  type WebhookAttempt,
  type WebhookDelivery,
  type WebhookDeliverySource,
  type WebhookDeliveryStatus,
  type WebhookDeliveryWithAttempts,
} from './webhook-delivery.repository';
export { OUTBOX_INLINE_OUTPUT_BYTES } from './webhook-outbox';
export {
  WebhookSubscriptionRepository,
  type NewWebhookSubscription,
  type WebhookSubscription,
  type WebhookSubscriptionChanges,
} from './webhook-subscription.repository';

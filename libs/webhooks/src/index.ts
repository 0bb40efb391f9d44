export type { JsonArray, JsonObject, JsonPrimitive, JsonValue } from './json-value-types';
export { WEBHOOK_EVENTS, isWebhookEvent, type WebhookEvent } from './webhook-event-types';
export {
  DEFAULT_MAX_OUTPUT_BYTES,
  buildWebhookPayload,
  serializePayload,
  type BuildWebhookPayloadInput,
  type WebhookInstant,
  type WebhookPayload,
  type WebhookPayloadData,
  type WebhookPayloadDataInput,
} from './webhook-payload-builder';
export {
  WEBHOOK_SECRET_PREFIX,
  WebhookSecretError,
  generateWebhookSecret,
  isValidWebhookSecret,
  secretKeyBytes,
} from './webhook-secret-codec';
export {
  DEFAULT_TOLERANCE_SECONDS,
  LEGACY_SIGNATURE_PREFIX,
  STANDARD_SIGNATURE_VERSION,
  signLegacy,
  signStandard,
  verifyLegacy,
  verifyStandard,
  type HeaderBag,
  type RawBody,
} from './webhook-signer';
export {
  WEBHOOK_MESSAGE_ID_PREFIX,
  WEBHOOK_USER_AGENT,
  buildWebhookHeaders,
  newMessageId,
  type BuildWebhookHeadersInput,
  type WebhookHeaders,
} from './webhook-headers-builder';
export { DEFAULT_RETRY_SCHEDULE, RetryScheduleError, parseRetrySchedule } from './retry-schedule-parser';
export { nextRetryDelay } from './retry-delay-policy';
export {
  classifyResponse,
  type DeliveryAttemptResult,
  type DeliveryClassification,
} from './response-classifier';

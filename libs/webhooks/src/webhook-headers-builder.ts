import { randomUUID } from 'node:crypto';
import { type WebhookEvent } from './webhook-event-types';
import { type RawBody, signLegacy, signStandard } from './webhook-signer';

export const WEBHOOK_USER_AGENT = 'Kiln-Webhooks/1.0';
export const WEBHOOK_MESSAGE_ID_PREFIX = 'msg_';

// Values go into HTTP headers and (for the id) into the signed string, so they
// must be visible ASCII without spaces: no header injection, no ambiguity.
const HEADER_TOKEN = /^[\x21-\x7e]{1,256}$/;

export interface BuildWebhookHeadersInput {
  secret: string;
  event: WebhookEvent;
  executionId: string;
  /** The delivery's stored `webhook-id`: the same on every attempt of one event. */
  messageId: string;
  /** When THIS attempt is sent (Standard Webhooks verifiers reject stale timestamps). */
  timestamp: Date;
  rawBody: RawBody;
}

// A type alias (not an interface) so it is assignable to Record<string, string>
// and can be handed to fetch/undici as is.
export type WebhookHeaders = {
  'Content-Type': 'application/json';
  'User-Agent': typeof WEBHOOK_USER_AGENT;
  'X-Webhook-Event': WebhookEvent;
  'X-Webhook-Execution-Id': string;
  /** Unix seconds, identical to `webhook-timestamp` (one clock, one format). */
  'X-Webhook-Timestamp': string;
  'X-Webhook-Signature': string;
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
};

/** `msg_` + 32 hex characters (128 random bits). Generate once per event and store it. */
export function newMessageId(): string {
  return WEBHOOK_MESSAGE_ID_PREFIX + randomUUID().replaceAll('-', '');
}

/**
 * Every SPEC §6 header for one attempt. Throws WebhookSecretError when the
 * secret is not a `whsec_` secret, because the Standard signature needs its key.
 */
export function buildWebhookHeaders(input: BuildWebhookHeadersInput): WebhookHeaders {
  assertHeaderToken('messageId', input.messageId);
  assertHeaderToken('executionId', input.executionId);
  const millis = input.timestamp.getTime();
  if (!Number.isFinite(millis)) throw new RangeError('timestamp is an invalid Date');
  const seconds = Math.floor(millis / 1000);
  const timestamp = String(seconds);
  return {
    'Content-Type': 'application/json',
    'User-Agent': WEBHOOK_USER_AGENT,
    'X-Webhook-Event': input.event,
    'X-Webhook-Execution-Id': input.executionId,
    'X-Webhook-Timestamp': timestamp,
    'X-Webhook-Signature': signLegacy(input.secret, input.rawBody),
    'webhook-id': input.messageId,
    'webhook-timestamp': timestamp,
    'webhook-signature': signStandard(input.secret, input.messageId, seconds, input.rawBody),
  };
}

function assertHeaderToken(field: string, value: string): void {
  if (!HEADER_TOKEN.test(value)) {
    throw new TypeError(`${field} must be 1-256 visible ASCII characters without spaces`);
  }
}

import { createHmac, timingSafeEqual } from 'node:crypto';
import { secretKeyBytes, WebhookSecretError } from './webhook-secret-codec';

/** The body exactly as sent: a string is hashed as UTF-8, bytes as they are. */
export type RawBody = string | Uint8Array;

/** Header lookups are case-insensitive; a Node `IncomingHttpHeaders` fits. */
export type HeaderBag = Readonly<Record<string, string | readonly string[] | undefined>>;

export const LEGACY_SIGNATURE_PREFIX = 'sha256=';
export const STANDARD_SIGNATURE_VERSION = 'v1';
export const DEFAULT_TOLERANCE_SECONDS = 300;

/**
 * `sha256=<hex HMAC-SHA256>` keyed with the WHOLE secret string (prefix
 * included): the seed document's verifier does `createHmac('sha256', secret)`.
 */
export function signLegacy(secret: string, rawBody: RawBody): string {
  if (secret === '') throw new WebhookSecretError('Webhook secret is empty');
  return LEGACY_SIGNATURE_PREFIX + createHmac('sha256', secret).update(rawBody).digest('hex');
}

/** `v1,<base64 HMAC-SHA256(key, "{msgId}.{timestamp}.{body}")>` (Standard Webhooks). */
export function signStandard(secret: string, msgId: string, timestampSeconds: number, rawBody: RawBody): string {
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
    throw new RangeError(`timestampSeconds must be a non-negative integer (got ${String(timestampSeconds)})`);
  }
  const mac = createHmac('sha256', secretKeyBytes(secret))
    .update(`${msgId}.${timestampSeconds}.`)
    .update(rawBody)
    .digest('base64');
  return `${STANDARD_SIGNATURE_VERSION},${mac}`;
}

/** Checks an `X-Webhook-Signature` value. A malformed secret throws; a bad header is just false. */
export function verifyLegacy(secret: string, rawBody: RawBody, header: string | undefined): boolean {
  const expected = signLegacy(secret, rawBody);
  return header !== undefined && safeEqual(header, expected);
}

/**
 * Checks the `webhook-*` trio like the standardwebhooks library does: any
 * space-separated `v1,` signature may match, and the timestamp must be within
 * `toleranceSeconds` of `now` either way (replay protection).
 */
export function verifyStandard(
  secret: string,
  headers: HeaderBag,
  rawBody: RawBody,
  toleranceSeconds: number = DEFAULT_TOLERANCE_SECONDS,
  now: Date = new Date(),
): boolean {
  const msgId = headerValue(headers, 'webhook-id');
  const timestampText = headerValue(headers, 'webhook-timestamp');
  const signatures = headerValue(headers, 'webhook-signature');
  if (!msgId || !timestampText || !signatures || !/^\d{1,15}$/.test(timestampText)) return false;
  const timestamp = Number(timestampText);
  if (Math.abs(Math.floor(now.getTime() / 1000) - timestamp) > toleranceSeconds) return false;
  const expected = signStandard(secret, msgId, timestamp, rawBody);
  // Evaluate every candidate so the time taken does not reveal which one matched.
  let matched = false;
  for (const candidate of signatures.split(' ')) {
    if (candidate.startsWith(`${STANDARD_SIGNATURE_VERSION},`) && safeEqual(candidate, expected)) matched = true;
  }
  return matched;
}

// timingSafeEqual throws on unequal lengths; a length mismatch is simply "no".
function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

function headerValue(headers: HeaderBag, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name) continue;
    if (typeof value === 'string') return value;
    // A repeated header is ambiguous; refuse rather than guess which one was signed.
    return value?.length === 1 ? value[0] : undefined;
  }
  return undefined;
}

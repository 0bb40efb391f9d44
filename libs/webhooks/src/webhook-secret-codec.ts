import { randomBytes } from 'node:crypto';

export const WEBHOOK_SECRET_PREFIX = 'whsec_';

// Standard Webhooks asks for keys of 24 to 64 bytes; Svix issues 24, we issue 32.
const GENERATED_KEY_BYTES = 32;
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;
const BASE64_SHAPE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A secret that cannot key a signature. The message never contains the secret. */
export class WebhookSecretError extends Error {
  override readonly name = 'WebhookSecretError';
}

/** `whsec_` + base64 of 32 random bytes: usable by both signature schemes. */
export function generateWebhookSecret(): string {
  return WEBHOOK_SECRET_PREFIX + randomBytes(GENERATED_KEY_BYTES).toString('base64');
}

export function isValidWebhookSecret(secret: unknown): secret is string {
  return typeof secret === 'string' && decodeKey(secret) !== null;
}

/**
 * The HMAC key of the Standard Webhooks scheme: the base64 after `whsec_`
 * (the Svix/standardwebhooks reading). The legacy `sha256=` scheme does NOT
 * use this; it keys with the whole secret string, as the seed document does.
 */
export function secretKeyBytes(secret: string): Buffer {
  const key = decodeKey(secret);
  if (key === null) {
    throw new WebhookSecretError(
      `Webhook secret is malformed: expected '${WEBHOOK_SECRET_PREFIX}' followed by padded base64 of ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES} bytes`,
    );
  }
  return key;
}

function decodeKey(secret: string): Buffer | null {
  if (!secret.startsWith(WEBHOOK_SECRET_PREFIX)) return null;
  const encoded = secret.slice(WEBHOOK_SECRET_PREFIX.length);
  if (encoded === '' || !BASE64_SHAPE.test(encoded)) return null;
  const key = Buffer.from(encoded, 'base64');
  // Node's decoder ignores stray trailing bits; requiring the canonical form
  // guarantees every verifier (strict or lenient) derives the same key.
  if (key.toString('base64') !== encoded) return null;
  return key.length >= MIN_KEY_BYTES && key.length <= MAX_KEY_BYTES ? key : null;
}

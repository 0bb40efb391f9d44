import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const API_KEY_PATTERN = /^ak_[0-9a-f]{64}$/;

/** `ak_` + 64 lowercase hex characters from the CSPRNG (SPEC §2). */
export function generateApiKey(): string {
  return `ak_${randomBytes(32).toString('hex')}`;
}

export function isApiKeyFormat(value: string): boolean {
  return API_KEY_PATTERN.test(value);
}

/** Only this hash is stored; the key is shown once. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** The 8-character display prefix, e.g. `ak_3f9a1`. */
export function apiKeyPrefix(key: string): string {
  return key.slice(0, 8);
}

/** Constant-time comparison of two hex digests of equal length. */
export function hashesEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && left.length > 0 && timingSafeEqual(left, right);
}

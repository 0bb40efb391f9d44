import { generateWebhookSecret, isValidWebhookSecret, secretKeyBytes, WebhookSecretError } from './index';

const b64 = (bytes: number, fill = 1) => Buffer.alloc(bytes, fill).toString('base64');

describe('generateWebhookSecret', () => {
  it('is whsec_ + padded base64 of 32 random bytes', () => {
    const secret = generateWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(secretKeyBytes(secret)).toHaveLength(32);
    expect(isValidWebhookSecret(secret)).toBe(true);
  });

  it('does not repeat', () => {
    const secrets = new Set(Array.from({ length: 200 }, () => generateWebhookSecret()));
    expect(secrets.size).toBe(200);
  });
});

describe('isValidWebhookSecret / secretKeyBytes', () => {
  it('decodes the part after whsec_', () => {
    const secret = `whsec_${b64(24, 7)}`;
    expect(secretKeyBytes(secret).equals(Buffer.alloc(24, 7))).toBe(true);
    expect(isValidWebhookSecret(`whsec_${b64(64)}`)).toBe(true);
  });

  it.each([
    ['no prefix', b64(32)],
    ['wrong prefix', `whsk_${b64(32)}`],
    ['empty key', 'whsec_'],
    ['free-form text', 'whsec_your-webhook-secret-key'],
    ['base64url alphabet', `whsec_${Buffer.alloc(32, 0xfb).toString('base64url')}=`],
    ['missing padding', `whsec_${b64(32).replace(/=+$/, '')}`],
    ['non-canonical trailing bits', `whsec_${b64(32).slice(0, -2)}B=`],
    ['whitespace', `whsec_ ${b64(32)}`],
    ['too short (16 bytes)', `whsec_${b64(16)}`],
    ['too long (65 bytes)', `whsec_${b64(65)}`],
  ])('rejects %s', (_label, secret) => {
    expect(isValidWebhookSecret(secret)).toBe(false);
    expect(() => secretKeyBytes(secret)).toThrow(WebhookSecretError);
  });

  it('rejects non-strings', () => {
    expect(isValidWebhookSecret(undefined)).toBe(false);
    expect(isValidWebhookSecret(Buffer.alloc(32))).toBe(false);
  });

  it('explains the expected shape without echoing the secret', () => {
    const secret = 'whsec_not*base64*at*all';
    expect(() => secretKeyBytes(secret)).toThrow(
      "Webhook secret is malformed: expected 'whsec_' followed by padded base64 of 24 to 64 bytes",
    );
    try {
      secretKeyBytes(secret);
    } catch (error) {
      expect((error as Error).message).not.toContain('not*base64');
    }
  });
});

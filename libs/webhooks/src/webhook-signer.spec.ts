import { createHmac } from 'node:crypto';
import { signLegacy, signStandard, verifyLegacy, verifyStandard, WebhookSecretError } from './index';

const secret = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
const body = '{"event":"execution.completed","data":{"note":"ünïcødé"}}';

describe('signLegacy', () => {
  it('is sha256= + hex HMAC-SHA256 keyed with the whole secret string', () => {
    const expected = createHmac('sha256', Buffer.from(secret, 'utf8')).update(Buffer.from(body, 'utf8')).digest('hex');
    expect(signLegacy(secret, body)).toBe(`sha256=${expected}`);
    expect(signLegacy(secret, Buffer.from(body, 'utf8'))).toBe(`sha256=${expected}`);
  });

  it('refuses an empty secret', () => {
    expect(() => signLegacy('', body)).toThrow(WebhookSecretError);
  });
});

describe('signStandard', () => {
  it('is v1, + base64 HMAC-SHA256(decoded key, "id.ts.body")', () => {
    const key = Buffer.from('0123456789abcdef0123456789abcdef');
    const expected = createHmac('sha256', key).update(`msg_1.1700000000.${body}`, 'utf8').digest('base64');
    expect(signStandard(secret, 'msg_1', 1_700_000_000, body)).toBe(`v1,${expected}`);
    expect(signStandard(secret, 'msg_1', 1_700_000_000, new TextEncoder().encode(body))).toBe(`v1,${expected}`);
  });

  it('refuses a non-whsec secret and a non-integer timestamp', () => {
    expect(() => signStandard('your-webhook-secret-key', 'msg_1', 1, body)).toThrow(WebhookSecretError);
    expect(() => signStandard(secret, 'msg_1', 1_700_000_000_123.5, body)).toThrow(RangeError);
    expect(() => signStandard(secret, 'msg_1', -1, body)).toThrow(RangeError);
  });
});

describe('verifyLegacy', () => {
  const header = signLegacy(secret, body);

  it('accepts the right signature', () => {
    expect(verifyLegacy(secret, body, header)).toBe(true);
  });

  it('says no (never throws) for wrong, short, long or missing headers', () => {
    expect(verifyLegacy(secret, `${body} `, header)).toBe(false);
    expect(verifyLegacy(`${secret}x`, body, header)).toBe(false);
    expect(verifyLegacy(secret, body, header.slice(0, -1))).toBe(false);
    expect(verifyLegacy(secret, body, `${header}0`)).toBe(false);
    expect(verifyLegacy(secret, body, header.replace('sha256=', ''))).toBe(false);
    expect(verifyLegacy(secret, body, '')).toBe(false);
    expect(verifyLegacy(secret, body, undefined)).toBe(false);
  });
});

describe('verifyStandard', () => {
  const now = new Date('2025-10-23T14:32:10.500Z');
  const ts = Math.floor(now.getTime() / 1000);
  const headersAt = (timestamp: number) => ({
    'webhook-id': 'msg_1',
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signStandard(secret, 'msg_1', timestamp, body),
  });

  it('accepts a fresh signature, with header names in any case', () => {
    expect(verifyStandard(secret, headersAt(ts), body, 300, now)).toBe(true);
    const { 'webhook-id': id, 'webhook-timestamp': t, 'webhook-signature': s } = headersAt(ts);
    expect(verifyStandard(secret, { 'Webhook-Id': id, 'WEBHOOK-TIMESTAMP': t, 'Webhook-Signature': s }, body, 300, now)).toBe(
      true,
    );
  });

  it('enforces the tolerance in both directions, inclusive', () => {
    expect(verifyStandard(secret, headersAt(ts - 300), body, 300, now)).toBe(true);
    expect(verifyStandard(secret, headersAt(ts - 301), body, 300, now)).toBe(false);
    expect(verifyStandard(secret, headersAt(ts + 300), body, 300, now)).toBe(true);
    expect(verifyStandard(secret, headersAt(ts + 301), body, 300, now)).toBe(false);
    expect(verifyStandard(secret, headersAt(ts - 3600), body, 7200, now)).toBe(true);
  });

  it('accepts any one matching v1 signature among several (key rotation)', () => {
    const good = headersAt(ts);
    const rotated = { ...good, 'webhook-signature': `v1,AAAA v2,whatever ${good['webhook-signature']}` };
    expect(verifyStandard(secret, rotated, body, 300, now)).toBe(true);
    const onlyWrongVersion = { ...good, 'webhook-signature': good['webhook-signature'].replace('v1,', 'v2,') };
    expect(verifyStandard(secret, onlyWrongVersion, body, 300, now)).toBe(false);
  });

  it('says no for a tampered body, missing or malformed headers', () => {
    const good = headersAt(ts);
    expect(verifyStandard(secret, good, body.replace('ü', 'u'), 300, now)).toBe(false);
    expect(verifyStandard(secret, { ...good, 'webhook-id': 'msg_2' }, body, 300, now)).toBe(false);
    expect(verifyStandard(secret, { ...good, 'webhook-id': undefined }, body, 300, now)).toBe(false);
    expect(verifyStandard(secret, { ...good, 'webhook-timestamp': `${ts}.0` }, body, 300, now)).toBe(false);
    expect(verifyStandard(secret, { ...good, 'webhook-timestamp': new Date(ts * 1000).toISOString() }, body, 300, now)).toBe(
      false,
    );
    expect(verifyStandard(secret, { ...good, 'webhook-signature': '' }, body, 300, now)).toBe(false);
  });

  it('takes a single-valued header array but refuses a repeated header', () => {
    const good = headersAt(ts);
    expect(verifyStandard(secret, { ...good, 'webhook-id': ['msg_1'] }, body, 300, now)).toBe(true);
    expect(verifyStandard(secret, { ...good, 'webhook-id': ['msg_1', 'msg_2'] }, body, 300, now)).toBe(false);
  });

  it('uses the real clock by default', () => {
    expect(verifyStandard(secret, headersAt(Math.floor(Date.now() / 1000)), body)).toBe(true);
    expect(verifyStandard(secret, headersAt(ts), body)).toBe(false);
  });
});

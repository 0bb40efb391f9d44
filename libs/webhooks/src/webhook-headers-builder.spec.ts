import { createHmac } from 'node:crypto';
import { buildWebhookHeaders, newMessageId, WebhookSecretError, type BuildWebhookHeadersInput } from './index';

const key = Buffer.alloc(32, 9);
const secret = `whsec_${key.toString('base64')}`;
const rawBody = '{"event":"execution.pending_approval"}';
const input: BuildWebhookHeadersInput = {
  secret,
  event: 'execution.pending_approval',
  executionId: '16cf01cc-e0b6-49a6-bb8e-5b23475a0957',
  messageId: 'msg_0123456789abcdef0123456789abcdef',
  timestamp: new Date(1_700_000_000_999),
  rawBody,
};

describe('buildWebhookHeaders', () => {
  it('sends exactly the SPEC §6 headers', () => {
    const legacy = createHmac('sha256', secret).update(rawBody).digest('hex');
    const standard = createHmac('sha256', key)
      .update(`msg_0123456789abcdef0123456789abcdef.1700000000.${rawBody}`)
      .digest('base64');
    expect(buildWebhookHeaders(input)).toStrictEqual({
      'Content-Type': 'application/json',
      'User-Agent': 'Kiln-Webhooks/1.0',
      'X-Webhook-Event': 'execution.pending_approval',
      'X-Webhook-Execution-Id': '16cf01cc-e0b6-49a6-bb8e-5b23475a0957',
      'X-Webhook-Timestamp': '1700000000',
      'X-Webhook-Signature': `sha256=${legacy}`,
      'webhook-id': 'msg_0123456789abcdef0123456789abcdef',
      'webhook-timestamp': '1700000000',
      'webhook-signature': `v1,${standard}`,
    });
  });

  it('keeps webhook-id across retries while the timestamp and Standard signature move on', () => {
    const first = buildWebhookHeaders(input);
    const retry = buildWebhookHeaders({ ...input, timestamp: new Date(1_700_000_005_000) });
    expect(retry['webhook-id']).toBe(first['webhook-id']);
    expect(retry['X-Webhook-Signature']).toBe(first['X-Webhook-Signature']);
    expect(retry['webhook-timestamp']).toBe('1700000005');
    expect(retry['webhook-signature']).not.toBe(first['webhook-signature']);
  });

  it('refuses a secret without the whsec_ key the Standard signature needs', () => {
    expect(() => buildWebhookHeaders({ ...input, secret: 'your-webhook-secret-key' })).toThrow(WebhookSecretError);
  });

  it('refuses header-breaking ids and an invalid Date', () => {
    expect(() => buildWebhookHeaders({ ...input, messageId: 'msg_1\r\nX-Evil: 1' })).toThrow(TypeError);
    expect(() => buildWebhookHeaders({ ...input, messageId: '' })).toThrow(TypeError);
    expect(() => buildWebhookHeaders({ ...input, executionId: 'a b' })).toThrow(TypeError);
    expect(() => buildWebhookHeaders({ ...input, timestamp: new Date(Number.NaN) })).toThrow(RangeError);
  });

  it('is assignable to a plain header record (fetch/undici)', () => {
    const headers: Record<string, string> = buildWebhookHeaders(input);
    expect(Object.values(headers).every((value) => typeof value === 'string' && !/[\r\n]/.test(value))).toBe(true);
  });
});

describe('newMessageId', () => {
  it('is msg_ + 32 hex characters and unique', () => {
    const ids = Array.from({ length: 1000 }, () => newMessageId());
    for (const id of ids) expect(id).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

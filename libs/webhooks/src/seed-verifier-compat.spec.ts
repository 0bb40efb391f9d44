import { buildWebhookHeaders, buildWebhookPayload, generateWebhookSecret, newMessageId, serializePayload, signLegacy } from './index';

/*
 * The seed document's public Node.js example ("Webhooks" → "Webhook Signature
 * Verification"), copied verbatim: subscribers paste exactly this, so our
 * `X-Webhook-Signature` must satisfy it as written. Only the lint/type comments
 * around it are ours (the document's JavaScript has untyped parameters).
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const crypto = require('crypto');

// @ts-expect-error -- verbatim JavaScript: implicit-any parameters
function verifyWebhookSignature(payload, signature, secret) {
  const expectedSignature = `sha256=${crypto
    .createHmac('sha256', secret)
    .update(payload)
    .digest('hex')}`;

  return crypto.timingSafeEqual(
    Buffer.from(signature),
    Buffer.from(expectedSignature)
  );
}
/* eslint-enable @typescript-eslint/no-require-imports */

// What an Express subscriber sees: Node lower-cases header names, and the body
// arrives as the raw bytes read back with `req.body.toString('utf8')`.
function receive(headers: Record<string, string>, rawBody: string): { signature: string; payload: string } {
  const lowered = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
  return { signature: lowered['x-webhook-signature']!, payload: Buffer.from(rawBody, 'utf8').toString('utf8') };
}

function delivery(secret: string) {
  const payload = buildWebhookPayload({
    event: 'execution.completed',
    executionId: '16cf01cc-e0b6-49a6-bb8e-5b23475a0957',
    scriptId: '0b7d7a44-52f1-4e36-9c1e-2a4f0a1d9b10',
    timestamp: '2025-10-23T14:32:10.234Z',
    data: {
      status: 'completed',
      startedAt: '2025-10-23T14:30:45.067Z',
      completedAt: '2025-10-23T14:32:10.234Z',
      output: { successCount: 3, failedCount: 0, note: 'ünïcødé ✓' },
    },
  });
  const rawBody = serializePayload(payload);
  const headers = buildWebhookHeaders({
    secret,
    event: payload.event,
    executionId: payload.executionId,
    messageId: newMessageId(),
    timestamp: new Date(),
    rawBody,
  });
  return { rawBody, headers };
}

describe('seed document verifier (verbatim) against X-Webhook-Signature', () => {
  it('accepts our signature over our raw body, keyed with the whole whsec_ secret', () => {
    const secret = generateWebhookSecret();
    const { rawBody, headers } = delivery(secret);
    const { signature, payload } = receive(headers, rawBody);
    expect(verifyWebhookSignature(payload, signature, secret)).toBe(true);
  });

  it('accepts a free-form secret like the document example (legacy scheme only)', () => {
    const secret = 'your-webhook-secret-key';
    const rawBody = '{"event":"execution.started"}';
    expect(verifyWebhookSignature(rawBody, signLegacy(secret, rawBody), secret)).toBe(true);
  });

  it('rejects a tampered body of the same length', () => {
    const secret = generateWebhookSecret();
    const { rawBody, headers } = delivery(secret);
    const tampered = rawBody.replace('"successCount":3', '"successCount":9');
    expect(tampered).not.toBe(rawBody);
    expect(verifyWebhookSignature(tampered, receive(headers, rawBody).signature, secret)).toBe(false);
  });

  it('rejects a different secret', () => {
    const { rawBody, headers } = delivery(generateWebhookSecret());
    expect(verifyWebhookSignature(rawBody, receive(headers, rawBody).signature, generateWebhookSecret())).toBe(false);
  });

  it('rejects a signature keyed with only the decoded key bytes (the Standard key)', () => {
    const secret = generateWebhookSecret();
    const { rawBody, headers } = delivery(secret);
    const keyOnly = secret.slice('whsec_'.length);
    expect(verifyWebhookSignature(rawBody, receive(headers, rawBody).signature, keyOnly)).toBe(false);
  });

  it('gives the document handler the fields it reads', () => {
    const { rawBody } = delivery(generateWebhookSecret());
    const webhook = JSON.parse(rawBody);
    expect(webhook.event).toBe('execution.completed');
    expect(webhook.executionId).toBe('16cf01cc-e0b6-49a6-bb8e-5b23475a0957');
    expect(webhook.workflowId).toBe(webhook.scriptId);
    expect(webhook.data.output).toEqual({ successCount: 3, failedCount: 0, note: 'ünïcødé ✓' });
  });
});

import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import {
  buildWebhookHeaders,
  buildWebhookPayload,
  generateWebhookSecret,
  newMessageId,
  serializePayload,
  signStandard,
  verifyStandard,
} from './index';

// The real Standard Webhooks verifier (what subscribers using standardwebhooks
// or svix run) must accept our `webhook-*` headers unchanged.

function send(secret: string, at: Date = new Date(), messageId: string = newMessageId()) {
  const payload = buildWebhookPayload({
    event: 'execution.failed',
    executionId: 'f3b3c1de-7c4b-4bd4-9a57-1a0e51f1b2a3',
    scriptId: null,
    timestamp: at,
    data: {
      status: 'failed',
      startedAt: new Date(at.getTime() - 1500),
      completedAt: at,
      error: { code: 'EXECUTION_ERROR', message: 'boom: ✗', stack: 'Error: boom\n    at main (script.js:3:9)' },
    },
  });
  const rawBody = serializePayload(payload);
  const headers = buildWebhookHeaders({
    secret,
    event: payload.event,
    executionId: payload.executionId,
    messageId,
    timestamp: at,
    rawBody,
  });
  return { rawBody, headers };
}

describe('standardwebhooks Webhook.verify against our headers', () => {
  it('accepts our headers and returns our payload', () => {
    const secret = generateWebhookSecret();
    const { rawBody, headers } = send(secret);
    expect(new Webhook(secret).verify(rawBody, headers)).toEqual(JSON.parse(rawBody));
  });

  it('accepts the body as a Buffer (how frameworks hand over raw bodies)', () => {
    const secret = generateWebhookSecret();
    const { rawBody, headers } = send(secret);
    expect(() => new Webhook(secret).verify(Buffer.from(rawBody, 'utf8'), headers)).not.toThrow();
  });

  it('rejects a tampered body', () => {
    const secret = generateWebhookSecret();
    const { rawBody, headers } = send(secret);
    const tampered = rawBody.replace('EXECUTION_ERROR', 'EXECUTION_ERRAR');
    expect(() => new Webhook(secret).verify(tampered, headers)).toThrow(WebhookVerificationError);
  });

  it('rejects a wrong secret', () => {
    const { rawBody, headers } = send(generateWebhookSecret());
    expect(() => new Webhook(generateWebhookSecret()).verify(rawBody, headers)).toThrow(WebhookVerificationError);
  });

  it('rejects a webhook-id swapped after signing (the id is signed)', () => {
    const secret = generateWebhookSecret();
    const { rawBody, headers } = send(secret);
    const forged = { ...headers, 'webhook-id': newMessageId() };
    expect(() => new Webhook(secret).verify(rawBody, forged)).toThrow(WebhookVerificationError);
  });

  it('sends webhook-timestamp in Unix seconds (a stale one is refused as too old)', () => {
    const secret = generateWebhookSecret();
    const stale = new Date(Date.now() - 10 * 60 * 1000);
    const { rawBody, headers } = send(secret, stale);
    expect(headers['webhook-timestamp']).toBe(String(Math.floor(stale.getTime() / 1000)));
    expect(() => new Webhook(secret).verify(rawBody, headers)).toThrow('Message timestamp too old');
  });

  it('produces the same signature as the library itself', () => {
    const secret = generateWebhookSecret();
    const at = new Date('2025-10-23T14:32:10.999Z');
    const body = '{"event":"execution.started"}';
    expect(signStandard(secret, 'msg_abc', Math.floor(at.getTime() / 1000), body)).toBe(
      new Webhook(secret).sign('msg_abc', at, body),
    );
  });

  it('accepts Svix-sized (24-byte) secrets too', () => {
    const secret = `whsec_${Buffer.alloc(24, 7).toString('base64')}`;
    const { rawBody, headers } = send(secret);
    expect(() => new Webhook(secret).verify(rawBody, headers)).not.toThrow();
  });
});

describe('verifyStandard against headers signed by the standardwebhooks library', () => {
  it('accepts them, and rejects a tampered body', () => {
    const secret = generateWebhookSecret();
    const now = new Date();
    const body = '{"event":"execution.cancelled"}';
    const headers = {
      'webhook-id': 'msg_lib',
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign('msg_lib', now, body),
    };
    expect(verifyStandard(secret, headers, body)).toBe(true);
    expect(verifyStandard(secret, headers, body.replace('cancelled', 'cancellex'))).toBe(false);
  });
});

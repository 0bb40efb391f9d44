import { generateWebhookSecret, verifyLegacy, verifyStandard } from '@kiln/webhooks';
import { buildDeliveryRequest, type DeliveryRequestInput } from './delivery-request';

const executionId = '01a20098-25e7-706b-a4dc-b193d31333ce';
// As PostgreSQL returns it from jsonb: keys in jsonb order, not SPEC order.
const stored = {
  data: { output: { b: 2, a: 1 }, status: 'completed', startedAt: '2026-01-01T00:00:00.000Z', completedAt: '2026-01-01T00:00:01.000Z' },
  event: 'execution.completed',
  scriptId: null,
  timestamp: '2026-01-01T00:00:01.000Z',
  workflowId: null,
  executionId,
};

function input(overrides: Partial<DeliveryRequestInput> = {}): DeliveryRequestInput {
  return {
    payload: stored,
    deferredOutput: null,
    messageId: 'msg_0123456789abcdef0123456789abcdef',
    secret: generateWebhookSecret(),
    now: new Date(),
    maxOutputBytes: 256 * 1024,
    executionUrl: `https://kiln.example/v1/executions/${executionId}`,
    ...overrides,
  };
}

describe('buildDeliveryRequest', () => {
  it('renders the SPEC payload in SPEC key order and signs it with both schemes', () => {
    const req = input();
    const { body, headers } = buildDeliveryRequest(req);
    expect(Object.keys(JSON.parse(body))).toEqual(['event', 'executionId', 'scriptId', 'workflowId', 'timestamp', 'data']);
    expect(JSON.parse(body).data).toEqual({ status: 'completed', startedAt: stored.data.startedAt, completedAt: stored.data.completedAt, output: { b: 2, a: 1 } });
    expect(verifyLegacy(req.secret!, body, headers['X-Webhook-Signature'])).toBe(true);
    expect(verifyStandard(req.secret!, headers, body)).toBe(true);
    expect(headers['webhook-id']).toBe(req.messageId);
    expect(headers['X-Webhook-Event']).toBe('execution.completed');
    expect(headers['X-Webhook-Execution-Id']).toBe(executionId);
  });

  it('produces the same bytes on every attempt (only the timestamps and signatures move)', () => {
    const a = buildDeliveryRequest(input({ now: new Date('2026-01-01T00:00:00Z') }));
    const b = buildDeliveryRequest(input({ now: new Date('2026-01-01T00:00:15Z') }));
    expect(a.body).toBe(b.body);
    expect(a.headers['webhook-timestamp']).not.toBe(b.headers['webhook-timestamp']);
  });

  it('replaces a deferred output over the limit with a link to the execution', () => {
    const payload = { ...stored, data: { status: 'completed', startedAt: null, completedAt: null, outputDeferred: true } };
    const { body } = buildDeliveryRequest(input({ payload, deferredOutput: { big: 'x'.repeat(300 * 1024) } }));
    expect(JSON.parse(body).data).toEqual({
      status: 'completed',
      startedAt: null,
      completedAt: null,
      output: null,
      outputTruncated: true,
      outputUrl: `https://kiln.example/v1/executions/${executionId}`,
    });
  });

  it('inlines a deferred output that turns out to fit (jsonb text is longer than JSON)', () => {
    const payload = { ...stored, data: { status: 'completed', startedAt: null, completedAt: null, outputDeferred: true } };
    const { body } = buildDeliveryRequest(input({ payload, deferredOutput: { small: true } }));
    expect(JSON.parse(body).data.output).toEqual({ small: true });
  });

  it('carries the error of a failed execution and no output', () => {
    const payload = { ...stored, event: 'execution.failed', data: { status: 'failed', startedAt: null, completedAt: null, error: { code: 'TIMEOUT', message: 'slow' } } };
    const data = JSON.parse(buildDeliveryRequest(input({ payload })).body).data;
    expect(data).toEqual({ status: 'failed', startedAt: null, completedAt: null, error: { code: 'TIMEOUT', message: 'slow' } });
  });

  it('signs with a free-form (seed-style) secret using sha256= only', () => {
    const { body, headers } = buildDeliveryRequest(input({ secret: 'your-webhook-secret-key' }));
    expect(verifyLegacy('your-webhook-secret-key', body, headers['X-Webhook-Signature'])).toBe(true);
    expect(headers['webhook-signature']).toBeUndefined();
    expect(headers['webhook-id']).toBeDefined();
    expect(headers['webhook-timestamp']).toBe(headers['X-Webhook-Timestamp']);
  });

  it('refuses a row with an unknown event', () => {
    expect(() => buildDeliveryRequest(input({ payload: { ...stored, event: 'execution.exploded' } }))).toThrow(/unknown event/);
  });
});

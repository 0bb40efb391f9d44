import { type ApiClient, eventually, KilnStack } from '@kiln/testing';
import { Webhook } from 'standardwebhooks';
import { eventOf, executionOf, type ReceivedRequest, Receivers, type WebhookReceiver } from './webhooks-receiver';

/*
 * The seed document's Node.js verifier ("Webhook Signature Verification"),
 * copied verbatim: subscribers paste exactly this.
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

const ALL_EVENTS = ['execution.started', 'execution.completed', 'execution.failed', 'execution.cancelled', 'execution.pending_approval'];

/** What an Express `express.raw()` handler would pass to the seed's verifier. */
function seedAccepts(request: ReceivedRequest, secret: string): boolean {
  const signature = request.headers['x-webhook-signature'];
  if (typeof signature !== 'string') return false;
  try {
    return verifyWebhookSignature(request.rawBody.toString('utf8'), signature, secret) as boolean;
  } catch {
    return false; // timingSafeEqual throws on a length mismatch
  }
}

/** The standardwebhooks library's verdict (it throws on a bad signature). */
function standardPayload(request: ReceivedRequest, secret: string): unknown {
  return new Webhook(secret).verify(request.body, request.headers as Record<string, string>);
}

describe('webhooks: subscriptions, signatures, events', () => {
  let stack: KilnStack;
  let api: ApiClient;
  const receivers = new Receivers();
  const receiver = (): Promise<WebhookReceiver> => receivers.start();

  async function subscribe(client: ApiClient, body: Record<string, unknown>): Promise<{ id: string; secret: string }> {
    const res = await client.post('/v1/webhooks', body);
    expect(res.status).toBe(201);
    return res.body;
  }

  /** Waits until every delivery of `executionId` has ended, and returns them. */
  async function settled(client: ApiClient, executionId: string, expected: number): Promise<any[]> {
    return eventually(
      async () => {
        const res = await client.get(`/v1/webhook-deliveries?executionId=${executionId}&limit=100`);
        const items: any[] = res.body.items ?? [];
        return items.length === expected && items.every((d) => d.status !== 'pending') ? items : undefined;
      },
      { timeoutMs: 30_000, what: `deliveries of ${executionId}` },
    );
  }

  beforeAll(async () => {
    stack = await KilnStack.start({
      apps: ['gateway', 'worker', 'notifier'],
      env: { KILN_OUTBOUND_ALLOW: '127.0.0.1', KILN_WEBHOOK_RETRY_SCHEDULE: '200ms,500ms,1s' },
    });
  });
  // Subscriptions are per tenant: a fresh tenant per test keeps their events apart.
  beforeEach(async () => {
    api = (await stack.tenant()).client;
  });
  afterAll(async () => {
    await receivers.stopAll();
    await stack?.stop();
  });

  it('signs every delivery so that the seed verifier and standardwebhooks both accept it', async () => {
    const hook = await receiver();
    const sub = await subscribe(api, { url: hook.url(), events: ALL_EVENTS });
    expect(sub.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const listed = await api.get(`/v1/webhooks/${sub.id}`);
    expect(listed.body).toMatchObject({ id: sub.id, url: hook.url(), events: ALL_EVENTS, active: true, scriptId: null });
    expect(listed.body.secret).toBeUndefined();

    const script = await api.post('/v1/scripts', { name: 'adder', source: 'module.exports = async ({ input }) => ({ sum: input.a + input.b, note: "ünïcødé ✓" });' });
    const run = await api.post(`/v1/scripts/${script.body.id}/runs`, { input: { a: 2, b: 3 }, wait: true });
    expect(run.body.status).toBe('completed');
    const id = run.body.id as string;

    const [started, completed] = await Promise.all([
      hook.waitFor((r) => executionOf(r) === id && eventOf(r) === 'execution.started'),
      hook.waitFor((r) => executionOf(r) === id && eventOf(r) === 'execution.completed'),
    ]);
    for (const request of [started[0]!, completed[0]!]) {
      expect(request.method).toBe('POST');
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.headers['user-agent']).toBe('Kiln-Webhooks/1.0');
      expect(request.headers['x-webhook-timestamp']).toBe(request.headers['webhook-timestamp']);
      expect(request.headers['webhook-id']).toMatch(/^msg_[0-9a-f]{32}$/);
      expect(seedAccepts(request, sub.secret)).toBe(true);
      expect(standardPayload(request, sub.secret)).toEqual(request.json);
      // Both verifiers can fail: another secret is refused.
      expect(seedAccepts(request, `${sub.secret}x`)).toBe(false);
      expect(() => standardPayload(request, 'whsec_' + Buffer.alloc(32, 7).toString('base64'))).toThrow();
    }
    expect(Object.keys(completed[0]!.json)).toEqual(['event', 'executionId', 'scriptId', 'workflowId', 'timestamp', 'data']);
    expect(completed[0]!.json).toEqual({
      event: 'execution.completed',
      executionId: id,
      scriptId: script.body.id,
      workflowId: script.body.id,
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      data: { status: 'completed', startedAt: run.body.startedAt, completedAt: run.body.finishedAt, output: { sum: 5, note: 'ünïcødé ✓' } },
    });
    expect(started[0]!.json).toMatchObject({ event: 'execution.started', data: { status: 'running', startedAt: run.body.startedAt, completedAt: null } });
    expect(started[0]!.json.data.output).toBeUndefined();
    expect(started[0]!.headers['webhook-id']).not.toBe(completed[0]!.headers['webhook-id']);

    // The deliveries API shows each with its attempt.
    const deliveries = await api.get(`/v1/webhooks/${sub.id}/deliveries`);
    expect(deliveries.status).toBe(200);
    const done = deliveries.body.items.find((d: any) => d.event === 'execution.completed');
    expect(done).toMatchObject({ status: 'succeeded', attemptCount: 1, lastStatusCode: 200, messageId: completed[0]!.headers['webhook-id'], executionId: id });
    expect(done.attempts).toEqual([{ attempt: 1, statusCode: 200, latencyMs: expect.any(Number), error: null, at: expect.any(String) }]);
    // Lists leave the payload out; one delivery shows what was sent.
    expect(done.payload).toBeUndefined();
    expect((await api.get(`/v1/webhook-deliveries/${done.id}`)).body.payload).toEqual(completed[0]!.json);
  });

  it('emits every transition exactly once, from the worker and from the gateway', async () => {
    const hook = await receiver();
    await subscribe(api, { url: hook.url(), events: ALL_EVENTS });
    const approvalSource =
      'module.exports = async () => { await approval.request({ rows: [{ id: 1 }] }); return "unreachable"; };\n' +
      'module.exports.onApproved = async ({ comment }) => ({ approved: true, comment });';
    const run = async (body: Record<string, unknown>) => (await api.post('/v1/runs', { wait: 20_000, ...body })).body;

    const ok = await run({ source: 'results.ok = true;' });
    const thrown = await run({ source: 'throw new Error("boom")' });
    const approved = await run({ source: approvalSource });
    const rejected = await run({ source: approvalSource });
    const cancelledWaiting = await run({ source: approvalSource });
    expect([ok.status, thrown.status, approved.status, rejected.status, cancelledWaiting.status]).toEqual(['completed', 'failed', 'pending_approval', 'pending_approval', 'pending_approval']);

    const running = await api.post('/v1/runs', { source: 'await new Promise(r => setTimeout(r, 20000));', timeoutMs: 60_000 });
    const runningId = running.body.executionId as string;
    await hook.waitFor((r) => executionOf(r) === runningId && eventOf(r) === 'execution.started');
    expect((await api.post(`/v1/executions/${runningId}/cancel`)).body.status).toBe('cancelled');
    expect((await api.post(`/v1/executions/${approved.id}/approve`, { comment: 'go' })).status).toBe(200);
    expect((await api.post(`/v1/executions/${rejected.id}/reject`, { comment: 'no' })).body.status).toBe('cancelled');
    expect((await api.post(`/v1/executions/${cancelledWaiting.id}/cancel`)).body.status).toBe('cancelled');
    await eventually(async () => ((await api.get(`/v1/executions/${approved.id}`)).body.status === 'completed' ? true : undefined), { what: 'approved run' });

    const expected: Record<string, string[]> = {
      [ok.id]: ['execution.started', 'execution.completed'],
      [thrown.id]: ['execution.started', 'execution.failed'],
      [runningId]: ['execution.started', 'execution.cancelled'],
      [approved.id]: ['execution.started', 'execution.pending_approval', 'execution.completed'],
      [rejected.id]: ['execution.started', 'execution.pending_approval', 'execution.cancelled'],
      [cancelledWaiting.id]: ['execution.started', 'execution.pending_approval', 'execution.cancelled'],
    };
    for (const [executionId, events] of Object.entries(expected)) {
      const deliveries = await settled(api, executionId, events.length);
      expect(deliveries.map((d) => d.status)).toEqual(events.map(() => 'succeeded'));
      // Nothing is pending any more, so what the receiver holds is final.
      const received = hook.matching((r) => executionOf(r) === executionId).map(eventOf);
      expect(received.sort()).toEqual([...events].sort());
    }
    const approvedDone = hook.matching((r) => executionOf(r) === approved.id && eventOf(r) === 'execution.completed')[0]!;
    expect(approvedDone.json.data.output).toEqual({ approved: true, comment: 'go' });
    const failed = hook.matching((r) => executionOf(r) === thrown.id && eventOf(r) === 'execution.failed')[0]!;
    expect(failed.json.data.error).toMatchObject({ code: 'EXECUTION_ERROR', message: expect.stringContaining('boom') });
    expect(failed.json.data.output).toBeUndefined();
  });

  it('sends a script-scoped subscription only that script’s events', async () => {
    const [scoped, everything] = [await receiver(), await receiver()];
    const a = await api.post('/v1/scripts', { name: 'scoped-a', source: 'results.a = 1;' });
    const b = await api.post('/v1/scripts', { name: 'scoped-b', source: 'results.b = 1;' });
    const byName = await subscribe(api, { url: scoped.url(), events: ['execution.completed'], scriptId: 'scoped-a' });
    expect((await api.get(`/v1/webhooks/${byName.id}`)).body.scriptId).toBe(a.body.id);
    await subscribe(api, { url: everything.url(), events: ['execution.completed'] });

    const runA = (await api.post(`/v1/scripts/${a.body.id}/runs`, { wait: true })).body;
    const runB = (await api.post(`/v1/scripts/${b.body.id}/runs`, { wait: true })).body;
    await settled(api, runA.id, 2);
    const forB = await settled(api, runB.id, 1);
    expect(forB[0].url).toBe(everything.url());

    expect(scoped.requests.map(executionOf)).toEqual([runA.id]);
    expect(everything.requests.map(executionOf).sort()).toEqual([runA.id, runB.id].sort());
    const unknown = await api.post('/v1/webhooks', { url: scoped.url(), scriptId: 'no-such-script' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details.fields[0].field).toBe('scriptId');
  });

  it('delivers an API key’s own webhook (seed-style free-form secret: sha256= only)', async () => {
    const hook = await receiver();
    const seedSecret = 'your-webhook-secret-key';
    const key = await api.post('/v1/api-keys', { name: 'with hook', webhook: { url: hook.url(), events: ['execution.completed'], secret: seedSecret } });
    expect(key.status).toBe(201);
    const keyed = api.withKey(key.body.key);
    const run = (await keyed.post('/v1/runs', { source: 'results.viaKey = true;', wait: true })).body;
    const [request] = await hook.waitFor((r) => executionOf(r) === run.id);
    await settled(api, run.id, 1);
    expect(hook.matching((r) => executionOf(r) === run.id).map(eventOf)).toEqual(['execution.completed']);
    expect(seedAccepts(request!, seedSecret)).toBe(true);
    expect(request!.headers['webhook-id']).toMatch(/^msg_/);
    // A free-form secret cannot key the Standard Webhooks scheme: no signature rather than a wrong one.
    expect(request!.headers['webhook-signature']).toBeUndefined();
    expect(request!.json.data.output).toEqual({ viaKey: true });

    // Without a secret, the key gets a generated whsec_ one (shown once) and both schemes.
    const hook2 = await receiver();
    const key2 = await api.post('/v1/api-keys', { name: 'generated', webhook: { url: hook2.url() } });
    expect(key2.body.webhookSecret).toMatch(/^whsec_/);
    const run2 = (await api.withKey(key2.body.key).post('/v1/runs', { source: 'results.x = 1;', wait: true })).body;
    const requests = await hook2.waitFor((r) => executionOf(r) === run2.id, 2);
    for (const r of requests) {
      expect(seedAccepts(r, key2.body.webhookSecret)).toBe(true);
      expect(standardPayload(r, key2.body.webhookSecret)).toEqual(r.json);
    }
  });

  it('signs a run’s own webhookUrl with the tenant’s default secret', async () => {
    const admin = stack.admin();
    const tenant = await admin.post('/v1/tenants', { name: 'per-run', slug: `per-run-${Date.now().toString(36)}` });
    expect(tenant.body.webhookSecret).toMatch(/^whsec_/);
    const key = await admin.post('/v1/api-keys', { tenantId: tenant.body.id, name: 'k' });
    const client = api.withKey(key.body.key);
    const hook = await receiver();
    const run = (await client.post('/v1/runs', { source: 'results.perRun = true;', wait: true, webhookUrl: hook.url('/per-run?x=1') })).body;
    expect(run.status).toBe('completed');
    const requests = await hook.waitFor((r) => executionOf(r) === run.id, 2);
    expect(requests.map(eventOf).sort()).toEqual(['execution.completed', 'execution.started']);
    for (const r of requests) {
      expect(r.path).toBe('/per-run?x=1');
      expect(seedAccepts(r, tenant.body.webhookSecret)).toBe(true);
      expect(standardPayload(r, tenant.body.webhookSecret)).toEqual(r.json);
    }
    const deliveries = await settled(client, run.id, 2);
    expect(deliveries.every((d) => d.source === 'run' && d.subscriptionId === null)).toBe(true);
  });

  it('links an output over 256 KiB instead of sending it', async () => {
    const hook = await receiver();
    const sub = await subscribe(api, { url: hook.url(), events: ['execution.completed'] });
    const run = (await api.post('/v1/runs', { source: 'results.big = "x".repeat(300 * 1024);', wait: true })).body;
    expect(run.status).toBe('completed');
    const [request] = await hook.waitFor((r) => executionOf(r) === run.id);
    expect(request!.json.data).toMatchObject({ status: 'completed', output: null, outputTruncated: true });
    expect(request!.json.data.outputUrl).toMatch(new RegExp(`/v1/executions/${run.id}$`));
    expect(request!.rawBody.length).toBeLessThan(4096);
    expect(standardPayload(request!, sub.secret)).toEqual(request!.json);
    // Just under the limit still travels inline.
    const small = (await api.post('/v1/runs', { source: 'results.s = "y".repeat(200 * 1024);', wait: true })).body;
    const [inline] = await hook.waitFor((r) => executionOf(r) === small.id);
    expect(inline!.json.data.output.s).toHaveLength(200 * 1024);
  });

  it('refuses internal URLs at subscribe time, naming the field', async () => {
    const refused = async (path: string, body: unknown, field: string) => {
      const res = await api.post(path, body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_ERROR');
      expect(res.body.error.details.fields.map((f: any) => f.field)).toContain(field);
    };
    for (const url of ['http://169.254.169.254/latest/meta-data', 'http://10.0.0.7/hook', 'http://[::1]:8080/', 'http://192.168.1.1/', 'http://100.64.0.1/', 'http://0.0.0.0/']) {
      await refused('/v1/webhooks', { url }, 'url');
    }
    await refused('/v1/webhooks', { url: 'ftp://example.com/x' }, 'url');
    await refused('/v1/api-keys', { name: 'bad hook', webhook: { url: 'http://169.254.169.254/' } }, 'webhook.url');
    await refused('/v1/runs', { source: 'results.x = 1;', webhookUrl: 'http://10.1.2.3/hook' }, 'webhookUrl');
    const script = await api.post('/v1/scripts', { name: 'ssrf-target', source: 'results.x = 1;' });
    await refused(`/v1/scripts/${script.body.id}/runs`, { webhookUrl: 'http://172.16.0.1/' }, 'webhookUrl');
    const sub = await subscribe(api, { url: (await receiver()).url() });
    const patch = await api.patch(`/v1/webhooks/${sub.id}`, { url: 'http://169.254.169.254/' });
    expect(patch.status).toBe(400);
    await refused('/v1/webhooks', { url: 'http://127.0.0.1:9/', secret: 'not-a-whsec-secret-at-all' }, 'secret');
  });

  it('manages subscriptions per tenant: list, patch, delete; other tenants get 404', async () => {
    const hook = await receiver();
    const sub = await subscribe(api, { url: hook.url(), events: ['execution.failed'] });
    const other = (await stack.tenant()).client;
    for (const [method, path] of [
      ['GET', `/v1/webhooks/${sub.id}`],
      ['PATCH', `/v1/webhooks/${sub.id}`],
      ['DELETE', `/v1/webhooks/${sub.id}`],
      ['GET', `/v1/webhooks/${sub.id}/deliveries`],
      ['POST', `/v1/webhooks/${sub.id}/replay`],
    ] as const) {
      const res = await other.request(method, path, { body: method === 'POST' ? { since: new Date(0).toISOString() } : method === 'PATCH' ? { active: false } : undefined });
      expect([method, path, res.status]).toEqual([method, path, 404]);
    }
    expect((await other.get('/v1/webhooks')).body.items).toEqual([]);

    const patched = await api.patch(`/v1/webhooks/${sub.id}`, { events: ['execution.completed', 'execution.failed'], rotateSecret: true });
    expect(patched.status).toBe(200);
    expect(patched.body.events).toEqual(['execution.completed', 'execution.failed']);
    expect(patched.body.secret).toMatch(/^whsec_/);
    expect(patched.body.secret).not.toBe(sub.secret);
    expect((await api.patch(`/v1/webhooks/${sub.id}`, { bogus: 1 })).status).toBe(400);

    const limited = await api.post('/v1/api-keys', { name: 'no hooks', scopes: ['executions.run'] });
    const forbidden = await api.withKey(limited.body.key).get('/v1/webhooks');
    expect(forbidden.status).toBe(403);

    expect((await api.delete(`/v1/webhooks/${sub.id}`)).status).toBe(204);
    expect((await api.get(`/v1/webhooks/${sub.id}`)).status).toBe(404);
    expect((await api.get('/v1/webhooks/not-a-uuid')).status).toBe(404);
  });
});

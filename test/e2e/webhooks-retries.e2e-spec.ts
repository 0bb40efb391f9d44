import { type ApiClient, eventually, KilnStack } from '@kiln/testing';
import { Webhook } from 'standardwebhooks';
import { executionOf, Receivers, type Reply, WebhookReceiver } from './webhooks-receiver';

// A short schedule (the exact default is exercised in webhooks-schedule):
// retries 200 ms, 500 ms and 1 s after the first attempt, ±10 % jitter.
const SCHEDULE_MS = [200, 500, 1000];
const ENV = {
  KILN_OUTBOUND_ALLOW: '127.0.0.1',
  KILN_WEBHOOK_RETRY_SCHEDULE: '200ms,500ms,1s',
  KILN_WEBHOOK_TIMEOUT_MS: '1000',
  // The breaker has its own tests (webhooks-schedule); here it would only move attempts.
  KILN_WEBHOOK_BREAKER_VOLUME: '1000',
};
// Timing slack for a loaded 2-core machine; jitter itself is within ±10 %.
const LATE_SLACK_MS = 600;
const EARLY_SLACK_MS = 30;

describe('webhooks: retries, failures and recovery', () => {
  let stack: KilnStack;
  let api: ApiClient;
  const receivers = new Receivers();
  const receiver = (reply: (n: number) => Reply = () => ({ status: 200 })): Promise<WebhookReceiver> =>
    receivers.start((request) => reply(request.index));

  async function subscribe(url: string, events = ['execution.completed']): Promise<{ id: string; secret: string }> {
    const res = await api.post('/v1/webhooks', { url, events });
    expect(res.status).toBe(201);
    return res.body;
  }

  async function runOnce(source = 'results.ok = true;'): Promise<string> {
    const run = await api.post('/v1/runs', { source, wait: true });
    expect(run.body.status).toBe('completed');
    return run.body.id;
  }

  async function deliveryOf(subscriptionId: string, done: (d: any) => boolean, timeoutMs = 20_000): Promise<any> {
    return eventually(
      async () => {
        const res = await api.get(`/v1/webhooks/${subscriptionId}/deliveries`);
        const d = res.body.items?.[0];
        return d && done(d) ? d : undefined;
      },
      { timeoutMs, what: `delivery of subscription ${subscriptionId}` },
    );
  }

  beforeAll(async () => {
    stack = await KilnStack.start({ apps: ['gateway', 'worker', 'notifier'], env: ENV });
  });
  beforeEach(async () => {
    api = (await stack.tenant()).client;
  });
  afterAll(async () => {
    await receivers.stopAll();
    await stack?.stop();
  });

  it('retries on the schedule, measured at the receiver, with one webhook-id, then marks the delivery failed', async () => {
    const hook = await receiver(() => ({ status: 500, body: 'database down' }));
    const sub = await subscribe(hook.url());
    const executionId = await runOnce();
    const requests = await hook.waitFor((r) => executionOf(r) === executionId, 4);
    const failed = await deliveryOf(sub.id, (d) => d.status === 'failed');

    const gaps = requests.slice(1).map((r, i) => r.at - requests[i]!.at);
    gaps.forEach((gap, i) => {
      const base = SCHEDULE_MS[i]!;
      expect(gap).toBeGreaterThanOrEqual(Math.floor(base * 0.9) - EARLY_SLACK_MS);
      expect(gap).toBeLessThanOrEqual(Math.ceil(base * 1.1) + LATE_SLACK_MS);
    });
    expect(new Set(requests.map((r) => r.headers['webhook-id'])).size).toBe(1);
    for (const r of requests) expect(new Webhook(sub.secret).verify(r.body, r.headers as Record<string, string>)).toEqual(r.json);
    expect(new Set(requests.map((r) => r.body)).size).toBe(1);

    expect(failed).toMatchObject({ attemptCount: 4, lastStatusCode: 500, messageId: requests[0]!.headers['webhook-id'], nextAttemptAt: null });
    expect(failed.lastError).toBe('HTTP 500: database down');
    expect(failed.attempts.map((a: any) => [a.attempt, a.statusCode])).toEqual([[1, 500], [2, 500], [3, 500], [4, 500]]);
    expect(failed.attempts.every((a: any) => typeof a.latencyMs === 'number' && a.error === 'HTTP 500: database down')).toBe(true);
    // No fifth attempt: the schedule is exhausted.
    expect(hook.matching((r) => executionOf(r) === executionId)).toHaveLength(4);
  });

  it('treats 3xx, 4xx, 5xx, timeouts and refused connections as failures; 410 disables the subscription', async () => {
    const redirectTarget = await receiver();
    const refused = await receiver();
    await refused.down();
    const cases: { name: string; reply?: Reply; code: number | null; error: RegExp; attempts: number }[] = [
      { name: '301', reply: { status: 301, headers: { location: redirectTarget.url() } }, code: 301, error: /^HTTP 301 \(redirects are not followed\)/, attempts: 4 },
      { name: '302', reply: { status: 302, headers: { location: redirectTarget.url() } }, code: 302, error: /^HTTP 302 \(redirects are not followed\)/, attempts: 4 },
      { name: '400', reply: { status: 400, body: 'bad' }, code: 400, error: /^HTTP 400: bad$/, attempts: 4 },
      { name: '404', reply: { status: 404 }, code: 404, error: /^HTTP 404/, attempts: 4 },
      { name: '500', reply: { status: 500 }, code: 500, error: /^HTTP 500/, attempts: 4 },
      { name: '503', reply: { status: 503 }, code: 503, error: /^HTTP 503/, attempts: 4 },
      { name: 'timeout', reply: { status: 200, delayMs: 3000 }, code: null, error: /^TIMEOUT: .*1000 ms/, attempts: 4 },
      { name: '410', reply: { status: 410 }, code: 410, error: /^HTTP 410 Gone/, attempts: 1 },
      { name: '201', reply: { status: 201 }, code: 201, error: /^$/, attempts: 1 },
      { name: '204', reply: { status: 204 }, code: 204, error: /^$/, attempts: 1 },
    ];
    const subs = new Map<string, { id: string; hook: WebhookReceiver | null }>();
    for (const c of cases) {
      const hook = await receiver(() => c.reply ?? { status: 200 });
      subs.set(c.name, { id: (await subscribe(hook.url())).id, hook });
    }
    subs.set('refused', { id: (await subscribe(refused.url())).id, hook: null });
    cases.push({ name: 'refused', code: null, error: /^CONNECTION_FAILED: .*ECONNREFUSED/, attempts: 4 });

    const started = Date.now();
    const executionId = await runOnce();
    for (const c of cases) {
      const { id, hook } = subs.get(c.name)!;
      const d = await deliveryOf(id, (x) => x.status !== 'pending');
      const label = `case ${c.name}`;
      expect([label, d.status]).toEqual([label, c.code !== null && c.code < 300 ? 'succeeded' : 'failed']);
      expect([label, d.attemptCount, d.attempts.length]).toEqual([label, c.attempts, c.attempts]);
      expect([label, d.lastStatusCode]).toEqual([label, c.code]);
      expect([label, d.lastError ?? '']).toEqual([label, expect.stringMatching(c.error)]);
      if (hook && c.name !== 'timeout') expect([label, hook.matching((r) => executionOf(r) === executionId).length]).toEqual([label, c.attempts]);
    }
    // Redirects were never followed.
    expect(redirectTarget.requests).toHaveLength(0);
    expect(Date.now() - started).toBeLessThan(30_000);

    // 410: the subscription is disabled, visibly, and gets no new deliveries.
    const gone = subs.get('410')!;
    const disabled = await api.get(`/v1/webhooks/${gone.id}`);
    expect(disabled.body).toMatchObject({ active: false, disabledAt: expect.any(String), disabledReason: expect.stringContaining('410') });
    const second = await runOnce();
    await eventually(async () => {
      const res = await api.get(`/v1/webhook-deliveries?executionId=${second}`);
      return res.body.items.length > 0 && res.body.items.every((d: any) => d.status !== 'pending') ? true : undefined;
    });
    const forGone = (await api.get(`/v1/webhook-deliveries?executionId=${second}&subscriptionId=${gone.id}`)).body;
    expect(forGone.total).toBe(0);

    // Replay while disabled is refused; PATCH re-enables; replay then re-sends the failed one.
    const since = new Date(started - 1000).toISOString();
    expect((await api.post(`/v1/webhooks/${gone.id}/replay`, { since })).status).toBe(409);
    gone.hook!.respondWith(() => ({ status: 200 }));
    const enabled = await api.patch(`/v1/webhooks/${gone.id}`, { active: true });
    expect(enabled.body).toMatchObject({ active: true, disabledAt: null, disabledReason: null });
    const replay = await api.post(`/v1/webhooks/${gone.id}/replay`, { since });
    expect(replay.status).toBe(202);
    expect(replay.body.replayed).toBe(1);
    const redone = await deliveryOf(gone.id, (d) => d.status === 'succeeded');
    expect(redone.attempts.map((a: any) => a.statusCode)).toEqual([410, 200]);
    const sent = gone.hook!.matching((r) => executionOf(r) === executionId);
    expect(sent.map((r) => r.headers['webhook-id'])).toEqual([redone.messageId, redone.messageId]);
  });

  it('redelivers a failed delivery with the same webhook-id and a fresh schedule', async () => {
    let healthy = false;
    const hook = await receiver(() => ({ status: healthy ? 200 : 503 }));
    const sub = await subscribe(hook.url());
    const executionId = await runOnce();
    const failed = await deliveryOf(sub.id, (d) => d.status === 'failed');
    expect(failed.attemptCount).toBe(4);

    healthy = true;
    const other = (await stack.tenant()).client;
    expect((await other.post(`/v1/webhook-deliveries/${failed.id}/redeliver`)).status).toBe(404);
    const redeliver = await api.post(`/v1/webhook-deliveries/${failed.id}/redeliver`);
    expect(redeliver.status).toBe(202);
    expect(['pending', 'succeeded']).toContain(redeliver.body.status);
    const done = await deliveryOf(sub.id, (d) => d.status === 'succeeded');
    expect(done.attempts.map((a: any) => a.statusCode)).toEqual([503, 503, 503, 503, 200]);
    const requests = hook.matching((r) => executionOf(r) === executionId);
    expect(requests).toHaveLength(5);
    expect(new Set(requests.map((r) => r.headers['webhook-id']))).toEqual(new Set([failed.messageId]));

    // A redelivery that fails again gets the whole schedule once more.
    healthy = false;
    expect((await api.post(`/v1/webhook-deliveries/${failed.id}/redeliver`)).status).toBe(202);
    const again = await deliveryOf(sub.id, (d) => d.status === 'failed' && d.attemptCount === 9);
    expect(again.attempts).toHaveLength(9);
    const pendingNow = await api.post(`/v1/webhook-deliveries/${failed.id}/redeliver`);
    expect(pendingNow.status).toBe(202);
    expect((await api.post(`/v1/webhook-deliveries/${failed.id}/redeliver`)).status).toBe(409);
  });

  it('replays only the failed deliveries created since the given time', async () => {
    let healthy = false;
    const hook = await receiver(() => ({ status: healthy ? 200 : 500 }));
    const sub = await subscribe(hook.url());
    const first = await runOnce();
    await deliveryOf(sub.id, (d) => d.executionId === first && d.status === 'failed');
    const since = new Date().toISOString();
    const second = await runOnce();
    const third = await runOnce();
    await eventually(async () => {
      const res = await api.get(`/v1/webhooks/${sub.id}/deliveries?status=failed`);
      return res.body.total === 3 ? true : undefined;
    });

    healthy = true;
    const replay = await api.post(`/v1/webhooks/${sub.id}/replay`, { since });
    expect(replay.body.replayed).toBe(2);
    await eventually(async () => {
      const res = await api.get(`/v1/webhooks/${sub.id}/deliveries?status=succeeded`);
      return res.body.total === 2 ? res.body.items : undefined;
    });
    const succeeded = hook.matching((r) => r.index >= 12).map(executionOf).sort();
    expect(succeeded).toEqual([second, third].sort());
    expect((await api.get(`/v1/webhooks/${sub.id}/deliveries?status=failed`)).body.items.map((d: any) => d.executionId)).toEqual([first]);
    expect((await api.post(`/v1/webhooks/${sub.id}/replay`, {})).status).toBe(400);
  });
});

describe('webhooks: the SSRF guard runs again at every delivery', () => {
  let stack: KilnStack;
  let hook: WebhookReceiver;

  beforeAll(async () => {
    hook = await WebhookReceiver.start();
    // The gateway still allows loopback (the subscription is accepted); the
    // notifier's allow-list has since been emptied by the operator.
    stack = await KilnStack.start({ apps: ['gateway', 'worker'], env: ENV });
    await stack.startApp('notifier', { KILN_OUTBOUND_ALLOW: '' });
  });
  afterAll(async () => {
    await hook?.stop();
    await stack?.stop();
  });

  it('refuses to connect to a loopback destination the notifier does not allow', async () => {
    const api = (await stack.tenant()).client;
    const sub = await api.post('/v1/webhooks', { url: hook.url(), events: ['execution.completed'] });
    expect(sub.status).toBe(201);
    const run = await api.post('/v1/runs', { source: 'results.x = 1;', wait: true });
    const failed = await eventually(
      async () => {
        const res = await api.get(`/v1/webhooks/${sub.body.id}/deliveries`);
        return res.body.items[0]?.status === 'failed' ? res.body.items[0] : undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect(failed.executionId).toBe(run.body.id);
    expect(failed.attempts).toHaveLength(4);
    expect(failed.attempts.every((a: any) => a.statusCode === null && /^SSRF_BLOCKED: /.test(a.error))).toBe(true);
    expect(hook.requests).toHaveLength(0);
  });
});

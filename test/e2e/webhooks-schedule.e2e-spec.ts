import { type ApiClient, eventually, KilnStack } from '@kiln/testing';
import { eventOf, executionOf, metric, Receivers } from './webhooks-receiver';

// The real defaults: retries 1 s, 5 s, 15 s (±10 %), 10 s per attempt, a
// breaker per destination that opens after 5 attempts with most failing and
// half-opens 10 s later.
const DEFAULT_SCHEDULE_MS = [1000, 5000, 15000];
const LATE_SLACK_MS = 1000;
const EARLY_SLACK_MS = 50;

describe('webhooks: the default schedule, a host that goes down, a slow subscriber', () => {
  let stack: KilnStack;
  let api: ApiClient;
  const receivers = new Receivers();
  const receiver = receivers.start;

  beforeAll(async () => {
    stack = await KilnStack.start({ apps: ['gateway', 'worker', 'notifier'], env: { KILN_OUTBOUND_ALLOW: '127.0.0.1' } });
  });
  beforeEach(async () => {
    api = (await stack.tenant()).client;
  });
  afterAll(async () => {
    await receivers.stopAll();
    await stack?.stop();
  });

  it('retries after 1 s, 5 s and 15 s (measured at the receiver), then fails the delivery', async () => {
    const hook = await receiver(() => ({ status: 502 }));
    const sub = await api.post('/v1/webhooks', { url: hook.url(), events: ['execution.completed'] });
    const run = await api.post('/v1/runs', { source: 'results.x = 1;', wait: true });
    const requests = await hook.waitFor((r) => executionOf(r) === run.body.id, 4, 40_000);
    const gaps = requests.slice(1).map((r, i) => r.at - requests[i]!.at);
    gaps.forEach((gap, i) => {
      const base = DEFAULT_SCHEDULE_MS[i]!;
      expect(gap).toBeGreaterThanOrEqual(base * 0.9 - EARLY_SLACK_MS);
      expect(gap).toBeLessThanOrEqual(base * 1.1 + LATE_SLACK_MS);
    });
    const failed = await eventually(async () => {
      const res = await api.get(`/v1/webhooks/${sub.body.id}/deliveries`);
      return res.body.items[0]?.status === 'failed' ? res.body.items[0] : undefined;
    });
    expect(failed.attempts.map((a: any) => a.statusCode)).toEqual([502, 502, 502, 502]);
    expect(new Set(requests.map((r) => r.headers['webhook-id'])).size).toBe(1);
    process.stdout.write(`webhook retry gaps at the receiver (default schedule): ${gaps.join(' ms, ')} ms\n`);
  });

  it('delivers every event to a receiver that was down for 20 s (the open breaker reschedules, never drops)', async () => {
    const hook = await receiver();
    await hook.down();
    await api.post('/v1/webhooks', { url: hook.url(), events: ['execution.started', 'execution.completed'] });
    const deferredBefore = await metric(stack.app('notifier').healthPort, 'kiln_webhook_deferred_total');
    const downAt = Date.now();
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await api.post('/v1/runs', { source: `results.i = ${i};`, wait: true })).body.id);

    // The outage itself is the scenario: 20 s of refused connections.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 20_000 - (Date.now() - downAt))));
    await hook.up();
    const upAt = Date.now();
    const expected = ids.flatMap((id) => ['execution.started', 'execution.completed'].map((event) => `${id} ${event}`));
    await hook.waitFor((r) => expected.includes(`${executionOf(r)} ${eventOf(r)}`), expected.length, 45_000).catch(() => undefined);
    const got = new Set(hook.requests.map((r) => `${executionOf(r)} ${eventOf(r)}`));
    expect(expected.filter((e) => !got.has(e))).toEqual([]);

    const deliveries = await eventually(async () => {
      const res = await api.get('/v1/webhook-deliveries?limit=100');
      return res.body.items.every((d: any) => d.status === 'succeeded') ? res.body.items : undefined;
    });
    expect(deliveries).toHaveLength(expected.length);
    // Deferrals while the breaker was open were not counted as attempts.
    expect(deliveries.every((d: any) => d.attemptCount <= 4)).toBe(true);
    expect(await metric(stack.app('notifier').healthPort, 'kiln_webhook_deferred_total')).toBeGreaterThan(deferredBefore);
    process.stdout.write(`receiver down ${upAt - downAt} ms; all ${expected.length} events arrived ${Math.max(...hook.requests.map((r) => r.at)) - upAt} ms after it came back\n`);
  });

  it('does not let a subscriber that takes 9 s delay another one', async () => {
    const slow = await receiver(() => ({ status: 200, delayMs: 9_000 }));
    const fast = await receiver();
    const slowSub = await api.post('/v1/webhooks', { url: slow.url(), events: ['execution.completed'] });
    await api.post('/v1/webhooks', { url: fast.url(), events: ['execution.completed'] });
    const runs: { id: string; finishedAt: string }[] = [];
    for (let i = 0; i < 5; i++) runs.push((await api.post('/v1/runs', { source: `results.i = ${i};`, wait: true })).body);

    const fastRequests = await fast.waitFor((r) => runs.some((run) => run.id === executionOf(r)), runs.length, 10_000);
    await slow.waitFor(() => true, runs.length, 10_000);
    const lastFast = Math.max(...fastRequests.map((r) => r.at));
    const firstSlowAnswer = Math.min(...slow.requests.map((r) => r.at)) + 9_000;
    // Every fast delivery arrived while the slow ones were still waiting for their answers.
    expect(lastFast).toBeLessThan(firstSlowAnswer);
    for (const run of runs) {
      const arrived = fastRequests.find((r) => executionOf(r) === run.id)!.at;
      expect(arrived - Date.parse(run.finishedAt)).toBeLessThan(3_000);
    }
    const slowDone = await eventually(
      async () => {
        const res = await api.get(`/v1/webhooks/${slowSub.body.id}/deliveries`);
        return res.body.items.length === runs.length && res.body.items.every((d: any) => d.status === 'succeeded') ? res.body.items : undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect(slowDone.every((d: any) => d.attempts.length === 1 && d.attempts[0].latencyMs >= 8_900)).toBe(true);
  });
});

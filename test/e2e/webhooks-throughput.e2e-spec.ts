import { WebhookQueue } from '@kiln/queue';
import { type ApiClient, eventually, KilnStack } from '@kiln/testing';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { executionOf, Receivers } from './webhooks-receiver';

// One notifier (concurrency 50, the default) against loopback receivers:
// how long a completion takes to reach a subscriber, and how many
// deliveries per second it sustains. The bounds are loose (2 shared cores);
// the measured numbers are printed.
describe('webhooks: latency and throughput of one notifier', () => {
  let stack: KilnStack;
  let api: ApiClient;
  let tenantId: string;
  const receivers = new Receivers();

  beforeAll(async () => {
    stack = await KilnStack.start({ apps: ['gateway', 'worker', 'notifier'], env: { KILN_OUTBOUND_ALLOW: '127.0.0.1', KILN_DB_POOL_SIZE: '10' } });
    const tenant = await stack.tenant();
    api = tenant.client;
    tenantId = tenant.id;
  });
  afterAll(async () => {
    await receivers.stopAll();
    await stack?.stop();
  });

  it('delivers a completion within a fraction of a second', async () => {
    const hook = await receivers.start();
    const sub = await api.post('/v1/webhooks', { url: hook.url(), events: ['execution.completed'] });
    const latencies: number[] = [];
    for (let i = 0; i < 20; i++) {
      const run = (await api.post('/v1/runs', { source: `results.i = ${i};`, wait: true })).body;
      const [request] = await hook.waitFor((r) => executionOf(r) === run.id, 1, 10_000);
      latencies.push(request!.at - Date.parse(run.finishedAt));
    }
    await api.delete(`/v1/webhooks/${sub.body.id}`);
    latencies.sort((a, b) => a - b);
    const p50 = latencies[Math.floor(latencies.length / 2)]!;
    const p95 = latencies[Math.floor(latencies.length * 0.95)]!;
    process.stdout.write(`completion → delivery latency over ${latencies.length} runs: p50 ${p50} ms, p95 ${p95} ms, max ${latencies.at(-1)} ms\n`);
    expect(p50).toBeLessThan(1_000);
  });

  it.each([
    { receiverDelayMs: 0, count: 2000 },
    { receiverDelayMs: 100, count: 1000 },
  ])('sustains many deliveries at once (receiver answers after $receiverDelayMs ms)', async ({ receiverDelayMs, count }) => {
    const hook = await receivers.start(() => ({ status: 200, delayMs: receiverDelayMs }));
    const sub = await api.post('/v1/webhooks', { url: hook.url(), events: ['execution.completed'] });
    const seed = (await api.post('/v1/runs', { source: 'results.seed = true;', wait: true })).body;
    await hook.waitFor((r) => executionOf(r) === seed.id);

    // Clone the real outbox row `count` times, then hand them to the queue at once.
    const db = new Client({ connectionString: stack.database.url });
    await db.connect();
    let ids: string[];
    try {
      const { rows } = await db.query<{ id: string }>(
        `INSERT INTO webhook_deliveries (id, tenant_id, subscription_id, source, execution_id, event, url, message_id, payload, status,
                                         attempts, retry_base, next_attempt_at, enqueued_at, created_at)
         SELECT gen_random_uuid(), d.tenant_id, d.subscription_id, d.source, d.execution_id, d.event, d.url,
                'msg_' || replace(gen_random_uuid()::text, '-', ''), d.payload, 'pending', 0, 0, now(), now(), now()
           FROM webhook_deliveries d CROSS JOIN generate_series(1, $3::int)
          WHERE d.tenant_id = $1::uuid AND d.subscription_id = $2::uuid
         RETURNING id::text`,
        [tenantId, sub.body.id, count],
      );
      ids = rows.map((r) => r.id);
    } finally {
      await db.end();
    }
    expect(ids).toHaveLength(count);
    const redis = new Redis(stack.redis.url, { maxRetriesPerRequest: null });
    const queue = new WebhookQueue({ connection: redis, prefix: stack.redis.prefix });
    const started = Date.now();
    await queue.enqueueNew(ids);
    await queue.close();
    redis.disconnect();

    await hook.waitFor((r) => executionOf(r) === seed.id, count + 1, 60_000);
    const elapsed = Date.now() - started;
    const rate = Math.round((count / elapsed) * 1000);
    process.stdout.write(`${count} deliveries (receiver delay ${receiverDelayMs} ms) in ${elapsed} ms: ${rate} deliveries/s\n`);
    // Every attempt recorded: nothing pending, nothing failed (the list counts at most 1,000 matches, so count what is left).
    const total = async (status: string) => (await api.get(`/v1/webhooks/${sub.body.id}/deliveries?status=${status}&limit=1`)).body as { total: number; totalExact: boolean };
    await eventually(async () => ((await total('pending')).total === 0 ? true : undefined), { what: 'every delivery recorded' });
    expect(await total('failed')).toMatchObject({ total: 0, totalExact: true });
    expect(await total('succeeded')).toMatchObject(count + 1 > 1000 ? { total: 1000, totalExact: false } : { total: count + 1, totalExact: true });
    // One at a time, 1000 answers of 100 ms would take 100 s.
    if (receiverDelayMs > 0) expect(elapsed).toBeLessThan((count * receiverDelayMs) / 5);
    await api.delete(`/v1/webhooks/${sub.body.id}`);
  });
});

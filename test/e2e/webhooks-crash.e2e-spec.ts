import { randomUUID } from 'node:crypto';
import { QueueName } from '@kiln/queue';
import { type ApiClient, eventually, KilnStack } from '@kiln/testing';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { eventOf, executionOf, metric, Receivers } from './webhooks-receiver';

// Processes dying at the worst moments: the notifier mid-attempt, the
// notifier on SIGTERM, a worker mid-run, and the enqueue after commit.
const ENV = {
  KILN_OUTBOUND_ALLOW: '127.0.0.1',
  KILN_WEBHOOK_RETRY_SCHEDULE: '200ms,500ms,1s',
  KILN_JOB_LOCK_MS: '2000',
  KILN_STALLED_INTERVAL_MS: '1000',
  KILN_WEBHOOK_RELAY_AFTER_MS: '1000',
};

describe('webhooks: crashes and restarts', () => {
  let stack: KilnStack;
  let api: ApiClient;
  const receivers = new Receivers();
  const receiver = receivers.start;

  async function deliveriesOf(executionId: string, done: (items: any[]) => boolean, timeoutMs = 30_000): Promise<any[]> {
    return eventually(
      async () => {
        const res = await api.get(`/v1/webhook-deliveries?executionId=${executionId}`);
        return done(res.body.items) ? res.body.items : undefined;
      },
      { timeoutMs, what: `deliveries of ${executionId}` },
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

  it('re-sends an attempt cut short by a SIGKILLed notifier, with the same webhook-id', async () => {
    // The first request hangs (the notifier dies while waiting); later ones succeed.
    const hook = await receiver((r) => (r.index === 0 ? { status: 200, delayMs: 8_000 } : { status: 200 }));
    await api.post('/v1/webhooks', { url: hook.url(), events: ['execution.completed'] });
    const run = await api.post('/v1/runs', { source: 'results.x = 1;', wait: true });
    const [inFlight] = await hook.waitFor((r) => executionOf(r) === run.body.id);
    await stack.app('notifier').kill();
    await stack.startApp('notifier');

    const [, again] = await hook.waitFor((r) => executionOf(r) === run.body.id, 2, 30_000);
    expect(again!.headers['webhook-id']).toBe(inFlight!.headers['webhook-id']);
    expect(again!.body).toBe(inFlight!.body);
    const [delivery] = await deliveriesOf(run.body.id, (items) => items[0]?.status === 'succeeded');
    // The killed attempt was never recorded; the re-sent one was.
    expect(delivery.attemptCount).toBe(1);
    expect(delivery.attempts[0].statusCode).toBe(200);
  });

  it('sends outbox rows whose enqueue was lost (the relay), exactly once each', async () => {
    const hook = await receiver();
    await api.post('/v1/webhooks', { url: hook.url(), events: ['execution.started', 'execution.completed'] });
    await stack.app('notifier').stop('SIGTERM');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await api.post('/v1/runs', { source: `results.i = ${i};`, wait: true })).body.id);

    // Lose every job the producers enqueued after their commits, as if each
    // had crashed between COMMIT and the Redis call.
    const redis = new Redis(stack.redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue(QueueName.Webhooks, { connection: redis, prefix: stack.redis.prefix });
    expect(await queue.getWaitingCount()).toBeGreaterThanOrEqual(6);
    await queue.obliterate({ force: true });
    expect(await queue.getWaitingCount()).toBe(0);
    await queue.close();
    redis.disconnect();

    const notifier = await stack.startApp('notifier');
    const expected = ids.flatMap((id) => [`${id} execution.started`, `${id} execution.completed`]);
    await hook.waitFor((r) => expected.includes(`${executionOf(r)} ${eventOf(r)}`), expected.length, 30_000);
    for (const id of ids) await deliveriesOf(id, (items) => items.length === 2 && items.every((d) => d.status === 'succeeded'));
    expect(hook.requests.map((r) => `${executionOf(r)} ${eventOf(r)}`).sort()).toEqual([...expected].sort());
    expect(await metric(notifier.healthPort, 'kiln_webhook_relayed_total')).toBeGreaterThanOrEqual(6);
  });

  it('emits execution.started once when a worker dies mid-run and another finishes it', async () => {
    const hook = await receiver();
    await api.post('/v1/webhooks', { url: hook.url() });
    const first = stack.app('worker');
    // The first attempt outlasts the test (a fixed pause could end before the kill on a slow machine); the second ends at once.
    const marker = `first-attempt-${randomUUID()}`;
    const source = `if (!(await sdk.cache.get('${marker}'))) { await sdk.cache.set('${marker}', true, 300); await new Promise(r => setTimeout(r, 60000)); }\nresults.done = true;`;
    const run = await api.post('/v1/runs', { source, timeoutMs: 90_000 });
    const id = run.body.executionId as string;
    await hook.waitFor((r) => executionOf(r) === id && eventOf(r) === 'execution.started');
    await stack.startApp('worker');
    await first.kill();
    const done = await eventually(async () => {
      const res = await api.get(`/v1/executions/${id}`);
      return res.body.status === 'completed' ? res.body : undefined;
    }, { timeoutMs: 40_000 });
    expect(done.attempts).toBe(2);
    await deliveriesOf(id, (items) => items.length === 2 && items.every((d) => d.status === 'succeeded'));
    expect(hook.matching((r) => executionOf(r) === id).map(eventOf).sort()).toEqual(['execution.completed', 'execution.started']);
  });

  it('finishes an attempt in flight on SIGTERM before exiting', async () => {
    const hook = await receiver(() => ({ status: 200, delayMs: 1_500 }));
    await api.post('/v1/webhooks', { url: hook.url(), events: ['execution.completed'] });
    const run = await api.post('/v1/runs', { source: 'results.x = 1;', wait: true });
    await hook.waitFor((r) => executionOf(r) === run.body.id);
    const exit = await stack.app('notifier').stop('SIGTERM');
    expect(exit.code === 0 || exit.signal === 'SIGTERM').toBe(true);
    const [delivery] = (await api.get(`/v1/webhook-deliveries?executionId=${run.body.id}`)).body.items;
    expect(delivery).toMatchObject({ status: 'succeeded', attemptCount: 1 });
    expect(hook.requests).toHaveLength(1);
    await stack.startApp('notifier');
  });
});

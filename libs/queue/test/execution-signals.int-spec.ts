import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createTestRedisPrefix } from '@kiln/testing';
import { ExecutionSignals } from '../src';

// The done signal crosses Redis pub/sub between a worker and the gateways.
describe('ExecutionSignals done (real Redis)', () => {
  const redisEnv = createTestRedisPrefix();
  const publisher = new Redis(redisEnv.url);
  const subscriber = new Redis(redisEnv.url);
  const signals = new ExecutionSignals(publisher, subscriber, redisEnv.prefix);

  beforeAll(() => signals.listen({ done: true }));

  afterAll(async () => {
    publisher.disconnect();
    subscriber.disconnect();
    await redisEnv.cleanup();
  });

  it('hands a waiter the view the worker serialized, and no view when none was sent', async () => {
    const [withView, without] = [randomUUID(), randomUUID()];
    const view = { id: withView, status: 'completed', output: { text: 'quote " and \\ and \u2028' }, logs: [] };
    const waits = [signals.waitFor(withView, 5000), signals.waitFor(without, 5000)];
    await signals.publishDone({ executionId: withView, status: 'completed', viewJson: JSON.stringify(view) });
    await signals.publishDone({ executionId: without, status: 'failed' });
    const [first, second] = await Promise.all(waits.map((w) => w.promise));
    expect(first).toEqual({ executionId: withView, status: 'completed', view });
    expect(second).toEqual({ executionId: without, status: 'failed' });
    expect(signals.pendingWaits).toBe(0);
  });
});

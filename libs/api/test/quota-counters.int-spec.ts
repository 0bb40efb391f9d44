import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createTestRedisPrefix } from '@kiln/testing';
import { QuotaCounters, type QuotaCounter } from '../src/limits/quota-counters';
import { hourWindow, monthWindow } from '../src/limits/quota-windows';

describe('quota counters (Lua, real Redis)', () => {
  const redisEnv = createTestRedisPrefix();
  const a = new Redis(redisEnv.url);
  const b = new Redis(redisEnv.url);

  afterAll(async () => {
    a.disconnect();
    b.disconnect();
    await redisEnv.cleanup();
  });

  function counter(limit: number | null, rebuilt = 0): QuotaCounter & { rebuilds: number } {
    const window = monthWindow(new Date());
    const c = {
      key: `${redisEnv.prefix}:quota:test:${randomBytes(4).toString('hex')}`,
      limit,
      window,
      expireAt: window.end.getTime() + 3600_000,
      rebuilds: 0,
      rebuild: () => {
        c.rebuilds++;
        return Promise.resolve(rebuilt);
      },
    };
    return c;
  }

  it('rebuilds a missing counter from the source of truth once, then counts on from there up to the limit', async () => {
    const quotas = new QuotaCounters(a);
    const c = counter(5, 3);
    expect(await quotas.admit([c])).toEqual({ admitted: true });
    expect(c.rebuilds).toBe(1);
    expect(await a.get(c.key)).toBe('4');
    expect(await quotas.admit([c])).toEqual({ admitted: true });
    const refused = await quotas.admit([c]);
    expect(refused).toMatchObject({ admitted: false, current: 5 });
    expect(c.rebuilds).toBe(1);
    // The counter expires after its window (plus slack), not before.
    const ttl = await a.pttl(c.key);
    expect(ttl).toBeGreaterThan(c.expireAt - Date.now() - 5_000);
    expect(ttl).toBeLessThanOrEqual(c.expireAt - Date.now() + 1_000);
  });

  it('is all-or-nothing over several counters: a refusal by one counts on none', async () => {
    const quotas = new QuotaCounters(a);
    const month = counter(null);
    const hour = { ...counter(1), window: hourWindow(new Date()) };
    expect(await quotas.admit([month, hour])).toEqual({ admitted: true });
    const refused = await quotas.admit([month, hour]);
    expect(refused).toMatchObject({ admitted: false, current: 1 });
    expect(refused.admitted === false && refused.refusedBy.key).toBe(hour.key);
    expect(await a.get(month.key)).toBe('1');
  });

  it('never over-admits under concurrency from two connections', async () => {
    const c = counter(10);
    const clients = [new QuotaCounters(a), new QuotaCounters(b)];
    const outcomes = await Promise.all(Array.from({ length: 40 }, (_, i) => (clients[i % 2] as QuotaCounters).admit([c])));
    expect(outcomes.filter((o) => o.admitted)).toHaveLength(10);
    expect(await a.get(c.key)).toBe('10');
  });

  it('refunds without going below zero or resurrecting a lost counter', async () => {
    const quotas = new QuotaCounters(a);
    const c = counter(2);
    await quotas.admit([c]);
    await quotas.admit([c]);
    expect((await quotas.admit([c])).admitted).toBe(false);
    await quotas.refund([c.key]);
    expect(await a.get(c.key)).toBe('1');
    expect((await quotas.admit([c])).admitted).toBe(true);
    await quotas.refund([c.key, c.key, c.key]);
    expect(await a.get(c.key)).toBe('0');
    await a.del(c.key);
    await quotas.refund([c.key]);
    expect(await a.exists(c.key)).toBe(0);
  });

  it('reads usage, rebuilding a lost counter', async () => {
    const quotas = new QuotaCounters(a);
    const c = counter(null, 12);
    expect(await quotas.read(c)).toBe(12);
    await quotas.admit([c]);
    expect(await quotas.read(c)).toBe(13);
    expect(c.rebuilds).toBe(1);
  });
});

import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { eventually, createTestRedisPrefix } from '@kiln/testing';
import { TenantSlots } from '../src/tenant-slots';

// The Redis side of per-tenant concurrency: slots with leases, deferred
// jobs remembered in creation order, and the hand-over on release.
describe('tenant concurrency slots (Lua, real Redis)', () => {
  const redisEnv = createTestRedisPrefix();
  const a = new Redis(redisEnv.url);
  const b = new Redis(redisEnv.url);
  const LEASE = 60_000;
  const tenant = () => randomBytes(8).toString('hex');
  const job = (id: string, timestamp: number) => ({ id, timestamp });

  afterAll(async () => {
    a.disconnect();
    b.disconnect();
    await redisEnv.cleanup();
  });

  it('gives out at most `limit` slots, re-entrant per execution, and counts deferred runs ahead', async () => {
    const slots = new TenantSlots(a, redisEnv.prefix);
    const t = tenant();
    expect(await slots.acquire(t, 'e1', job('j1', 1), 2, LEASE)).toEqual({ taken: true, running: 1 });
    expect(await slots.acquire(t, 'e2', job('j2', 2), 2, LEASE)).toEqual({ taken: true, running: 2 });
    expect(await slots.acquire(t, 'e1', job('j1', 1), 2, LEASE)).toEqual({ taken: true, running: 2 });
    expect(await slots.acquire(t, 'e3', job('j3', 3), 2, LEASE)).toEqual({ taken: false, running: 2, ahead: 0 });
    expect(await slots.defer(t, job('j3', 3), 2, LEASE)).toBeNull();
    expect(await slots.defer(t, job('j4', 4), 2, LEASE)).toBeNull();
    expect(await slots.acquire(t, 'e5', job('j5', 5), 2, LEASE)).toEqual({ taken: false, running: 2, ahead: 2 });
    // Another tenant is not affected.
    expect((await slots.acquire(tenant(), 'x1', job('x1', 1), 2, LEASE)).taken).toBe(true);
  });

  it('hands the oldest deferred job over when a slot frees, and a deferral that races a release still gets it', async () => {
    const slots = new TenantSlots(a, redisEnv.prefix);
    const t = tenant();
    await slots.acquire(t, 'e1', job('j1', 1), 1, LEASE);
    expect(await slots.defer(t, job('j9', 9), 1, LEASE)).toBeNull();
    expect(await slots.defer(t, job('j3', 3), 1, LEASE)).toBeNull();
    // Oldest first (creation time), not deferral order.
    expect(await slots.release(t, 'e1', 1)).toBe('j3');
    // The slot is free and j3 is on its way; a run that takes it removes itself from the deferred set.
    expect((await slots.acquire(t, 'e3', job('j3', 3), 1, LEASE)).taken).toBe(true);
    expect(await slots.release(t, 'e3', 1)).toBe('j9');
    // Nothing deferred any more: releasing finds nobody.
    expect(await slots.release(t, null, 1)).toBeNull();
    // A job deferred while a slot is already free gets promoted by its own deferral.
    expect(await slots.defer(t, job('j10', 10), 1, LEASE)).toBe('j10');
  });

  it('never hands out more than `limit` slots under concurrency from two connections', async () => {
    const t = tenant();
    const clients = [new TenantSlots(a, redisEnv.prefix), new TenantSlots(b, redisEnv.prefix)];
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (clients[i % 2] as TenantSlots).acquire(t, `e${i}`, job(`j${i}`, i), 5, LEASE)),
    );
    expect(results.filter((r) => r.taken)).toHaveLength(5);
    expect(await a.zcard(clients[0]?.keys(t)[0] as string)).toBe(5);
  });

  it("takes back a dead holder's slot once its lease expires; renewing keeps a live one", async () => {
    const slots = new TenantSlots(a, redisEnv.prefix);
    const t = tenant();
    await slots.acquire(t, 'dead', job('jd', 1), 2, 300);
    await slots.acquire(t, 'alive', job('ja', 2), 2, 300);
    expect((await slots.acquire(t, 'new', job('jn', 3), 2, LEASE)).taken).toBe(false);
    // The live holder renews (as its heartbeat does); the dead one does not.
    const renewing = setInterval(() => void slots.renew(t, 'alive', 300), 50);
    try {
      const taken = await eventually(async () => ((await slots.acquire(t, 'new', job('jn', 3), 2, LEASE)).taken ? true : undefined), { timeoutMs: 5_000 });
      expect(taken).toBe(true);
      const members = await a.zrange(slots.keys(t)[0], 0, -1);
      expect(members.sort()).toEqual(['alive', 'new']);
    } finally {
      clearInterval(renewing);
    }
  });
});

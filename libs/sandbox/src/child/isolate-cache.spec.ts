import type ivm from 'isolated-vm';
import { IsolateCache } from './isolate-cache';

describe('IsolateCache', () => {
  let cache: IsolateCache;
  beforeEach(() => {
    cache = new IsolateCache({ maxIdle: 2, idleTtlMs: 60_000, maxUses: 3 });
  });
  afterEach(() => cache.disposeAll());

  it('offers an idle isolate again only to the same key and memory limit', async () => {
    const first = await cache.acquire('tenant-a', 16);
    cache.release(first, true);
    const otherTenant = await cache.acquire('tenant-b', 16);
    const otherLimit = await cache.acquire('tenant-a', 32);
    const again = await cache.acquire('tenant-a', 16);
    expect(again.isolate).toBe(first.isolate);
    expect(otherTenant.isolate).not.toBe(first.isolate);
    expect(otherLimit.isolate).not.toBe(first.isolate);
  });

  it('never hands one isolate to two leases at once', async () => {
    const a = await cache.acquire('tenant-a', 16);
    const b = await cache.acquire('tenant-a', 16);
    expect(b.isolate).not.toBe(a.isolate);
  });

  it('disposes an isolate that is not reusable', async () => {
    const broken = await cache.acquire('t', 16);
    cache.release(broken, false);
    expect(broken.isolate.isDisposed).toBe(true);
    expect(cache.idleCount).toBe(0);
  });

  it('retires an isolate after maxUses runs', async () => {
    let lease = await cache.acquire('t', 16);
    const { isolate } = lease;
    for (let i = 0; i < 2; i++) {
      cache.release(lease, true);
      lease = await cache.acquire('t', 16);
      expect(lease.isolate).toBe(isolate);
    }
    cache.release(lease, true);
    expect(isolate.isDisposed).toBe(true);
  });

  it('remakes the runtime code cache after the first clean run, with the functions the run compiled', async () => {
    const codeSize = (): number => (Reflect.get(cache, 'runtimeCode') as ivm.ExternalCopy<ArrayBuffer> | undefined)?.copy().byteLength ?? 0;
    const first = await cache.acquire('t', 16);
    const before = codeSize();
    const { context, begin } = cache.freshContext(first);
    const config = JSON.stringify({ entry: 'main', maxOutputBytes: 1024, maxLogBytes: 1024 });
    await begin.apply(undefined, ['{}', config]);
    context.release();
    cache.release(first, true);
    for (let i = 0; i < 100 && codeSize() === before; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(codeSize()).toBeGreaterThan(before);
    const later = await cache.acquire('other', 16);
    expect(Reflect.get(later.runtime, 'cachedDataRejected')).not.toBe(true);
  });

  it('keeps at most maxIdle idle isolates, dropping the oldest', async () => {
    const leases = await Promise.all(['x', 'y', 'z'].map((key) => cache.acquire(key, 16)));
    for (const lease of leases) cache.release(lease, true);
    expect(cache.idleCount).toBe(2);
    expect(leases.map((lease) => lease.isolate.isDisposed)).toEqual([true, false, false]);
  });

  it('gives an idle isolate its next context ahead of time: unused, and never handed out twice', async () => {
    const first = await cache.acquire('t', 16);
    const used = cache.freshContext(first);
    await used.context.global.set('leftover', 1);
    cache.release(first, true);
    await new Promise((resolve) => setImmediate(resolve));
    const again = await cache.acquire('t', 16);
    expect(again.warm).toBeDefined();
    const fresh = cache.freshContext(again);
    expect(fresh.context).not.toBe(used.context);
    expect(await fresh.context.eval('typeof leftover')).toBe('undefined');
    expect(fresh.begin.typeof).toBe('function');
    // The run's globals have their places already; begin() gives them the run's values.
    expect(await fresh.context.eval("typeof sdk + ' ' + ('input' in globalThis) + ' ' + typeof input")).toBe('object true undefined');
    await fresh.begin.apply(undefined, [JSON.stringify({ input: { n: 1 }, context: {} }), JSON.stringify({ entry: 'main', maxOutputBytes: 1024, maxLogBytes: 1024 })]);
    expect(await fresh.context.eval('input.n')).toBe(1);
    await expect(fresh.begin.apply(undefined, ['{}', '{}'])).rejects.toThrow(/already begun/);
    expect(again.warm).toBeUndefined();
    expect(cache.freshContext(again).context).not.toBe(fresh.context);
  });

  it('does not warm an isolate that was taken or dropped before its turn came', async () => {
    const lease = await cache.acquire('t', 16);
    cache.release(lease, true);
    const taken = await cache.acquire('t', 16);
    expect(taken).toBe(lease);
    await new Promise((resolve) => setImmediate(resolve));
    expect(taken.warm).toBeUndefined();
  });
});

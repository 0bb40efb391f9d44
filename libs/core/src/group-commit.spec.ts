import { GroupCommit } from './group-commit';

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('GroupCommit', () => {
  it('flushes an idle submission at once and batches what arrives meanwhile', async () => {
    const batches: number[][] = [];
    const gates: ReturnType<typeof deferred<void>>[] = [];
    const group = new GroupCommit<number, number>(
      async (items) => {
        batches.push(items);
        const gate = deferred<void>();
        gates.push(gate);
        await gate.promise;
        return items.map((i) => i * 10);
      },
      { maxBatch: 3, maxInFlight: 1 },
    );
    const first = group.submit(1);
    expect(batches).toEqual([[1]]);
    const rest = [2, 3, 4, 5].map((i) => group.submit(i));
    expect(batches).toHaveLength(1);
    gates[0]!.resolve();
    expect(await first).toBe(10);
    await new Promise((r) => setImmediate(r));
    expect(batches).toEqual([[1], [2, 3, 4]]);
    gates[1]!.resolve();
    await new Promise((r) => setImmediate(r));
    expect(batches).toEqual([[1], [2, 3, 4], [5]]);
    gates[2]!.resolve();
    expect(await Promise.all(rest)).toEqual([20, 30, 40, 50]);
  });

  it('holds submissions while held, then sends what was submitted together as one batch', async () => {
    const batches: number[][] = [];
    const group = new GroupCommit<number, number>(
      (items) => {
        batches.push(items);
        return Promise.resolve(items.map((i) => i + 1));
      },
      { maxBatch: 10, maxInFlight: 1 },
    );
    const release = group.hold();
    const held = [group.submit(1), group.submit(2)];
    expect(batches).toEqual([]);
    release();
    release(); // a second call changes nothing
    expect(batches).toEqual([[1, 2]]);
    expect(await Promise.all(held)).toEqual([2, 3]);
    // Released: once the batch has settled, an idle submission goes out at once again.
    await new Promise((r) => setImmediate(r));
    const alone = group.submit(3);
    expect(batches).toEqual([[1, 2], [3]]);
    expect(await alone).toBe(4);
  });

  it('rejects every item of a failed batch, and keeps serving later ones', async () => {
    let fail = true;
    const group = new GroupCommit<number, number>(
      (items) => (fail ? Promise.reject(new Error('db down')) : Promise.resolve(items)),
      { maxBatch: 10, maxInFlight: 2 },
    );
    await expect(group.submit(1)).rejects.toThrow('db down');
    fail = false;
    await expect(group.submit(2)).resolves.toBe(2);
  });

  it('with isolateFailures, sends a failed batch again item by item, so only the item that fails alone gets the error', async () => {
    const batches: number[][] = [];
    const group = new GroupCommit<number, number>(
      (items) => {
        batches.push(items);
        return items.includes(3) ? Promise.reject(new Error('bad value 3')) : Promise.resolve(items.map((i) => -i));
      },
      { maxBatch: 10, maxInFlight: 1, isolateFailures: true },
    );
    const release = group.hold();
    const submitted = [1, 2, 3, 4].map((i) => group.submit(i));
    release();
    const results = await Promise.allSettled(submitted);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([-1, -2, 'bad value 3', -4]);
    expect(batches).toEqual([[1, 2, 3, 4], [1], [2], [3], [4]]);
  });

  it('without isolateFailures, a failed batch fails every item in it', async () => {
    const group = new GroupCommit<number, number>((items) => (items.includes(3) ? Promise.reject(new Error('bad value 3')) : Promise.resolve(items)), {
      maxBatch: 10,
      maxInFlight: 1,
    });
    const release = group.hold();
    const submitted = [1, 3].map((i) => group.submit(i));
    release();
    expect((await Promise.allSettled(submitted)).map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  it('rejects when the flush returns the wrong number of results', async () => {
    const group = new GroupCommit<number, number>(() => Promise.resolve([]), { maxBatch: 10, maxInFlight: 1 });
    await expect(group.submit(1)).rejects.toThrow('0 results for 1 items');
  });
});

import { RunSlots } from './run-slots';

describe('RunSlots', () => {
  it('hands out up to capacity at once and queues the rest in order', async () => {
    const slots = new RunSlots(2);
    const a = await slots.acquire();
    const b = await slots.acquire();
    const order: string[] = [];
    const c = slots.acquire().then((release) => {
      order.push('c');
      return release;
    });
    const d = slots.acquire().then((release) => {
      order.push('d');
      return release;
    });
    await Promise.resolve();
    expect(slots.inUse).toBe(2);
    expect(slots.queued).toBe(2);
    expect(order).toEqual([]);

    a();
    const releaseC = await c;
    expect(order).toEqual(['c']);
    b();
    const releaseD = await d;
    expect(order).toEqual(['c', 'd']);
    expect(slots.inUse).toBe(2);

    releaseC();
    releaseD();
    expect(slots.inUse).toBe(0);
  });

  it('ignores a second release of the same slot', async () => {
    const slots = new RunSlots(1);
    const release = await slots.acquire();
    release();
    release();
    expect(slots.inUse).toBe(0);
    await slots.acquire();
    expect(slots.inUse).toBe(1);
  });

  it('refuses a capacity below one', () => {
    expect(() => new RunSlots(0)).toThrow(RangeError);
  });
});

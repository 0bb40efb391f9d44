import { SlidingWindow } from './sliding-window';

describe('SlidingWindow', () => {
  it('allows `limit` events per window and frees slots as they age out', () => {
    let now = 1_000_000;
    const window = new SlidingWindow(3, 60_000, () => now);
    expect([window.tryTake(), window.tryTake(), window.tryTake(), window.tryTake()]).toEqual([true, true, true, false]);
    expect(window.retryAfterMs()).toBe(60_000);
    now += 59_999;
    expect(window.tryTake()).toBe(false);
    expect(window.retryAfterMs()).toBe(1);
    now += 1;
    // All three were taken at the same instant, so all three age out together.
    expect([window.tryTake(), window.tryTake(), window.tryTake(), window.tryTake()]).toEqual([true, true, true, false]);
  });

  it('frees one slot at a time when events were spread out', () => {
    let now = 0;
    const window = new SlidingWindow(2, 1000, () => now);
    expect(window.tryTake()).toBe(true);
    now = 400;
    expect(window.tryTake()).toBe(true);
    expect(window.tryTake()).toBe(false);
    now = 1000;
    expect(window.tryTake()).toBe(true);
    expect(window.tryTake()).toBe(false);
    expect(window.retryAfterMs()).toBe(400);
  });

  it('does not count refused attempts', () => {
    let now = 0;
    const window = new SlidingWindow(1, 1000, () => now);
    expect(window.tryTake()).toBe(true);
    for (let i = 0; i < 10; i++) expect(window.tryTake()).toBe(false);
    now = 1000;
    expect(window.tryTake()).toBe(true);
  });
});

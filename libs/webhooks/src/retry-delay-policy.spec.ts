import { nextRetryDelay } from './index';

const schedule = [1000, 5000, 15000];

// Deterministic PRNG (mulberry32) so the sweep is reproducible.
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('nextRetryDelay', () => {
  it('sends the first attempt at once, without consulting randomness', () => {
    const random = jest.fn(() => 1);
    expect(nextRetryDelay(schedule, 0, random)).toBe(0);
    expect(random).not.toHaveBeenCalled();
  });

  it('waits schedule[k-1] after failed attempt k (no jitter at 0.5)', () => {
    expect([1, 2, 3].map((k) => nextRetryDelay(schedule, k, () => 0.5))).toEqual([1000, 5000, 15000]);
  });

  it('is exhausted after the last scheduled retry', () => {
    expect(nextRetryDelay(schedule, 4, () => 0.5)).toBeNull();
    expect(nextRetryDelay(schedule, 50, () => 0.5)).toBeNull();
    expect(nextRetryDelay([], 1, () => 0.5)).toBeNull();
  });

  it('reaches exactly -10 % at random 0 and +10 % at random 1', () => {
    expect([1, 2, 3].map((k) => nextRetryDelay(schedule, k, () => 0))).toEqual([900, 4500, 13500]);
    expect([1, 2, 3].map((k) => nextRetryDelay(schedule, k, () => 1))).toEqual([1100, 5500, 16500]);
  });

  it('stays within ±10 % (integer ms) over many random values, and uses the whole range', () => {
    const random = seeded(42);
    const bases = [...schedule, 1, 7, 15, 999, 3_600_000];
    for (const [index, base] of bases.entries()) {
      let min = Infinity;
      let max = -Infinity;
      for (let i = 0; i < 5000; i++) {
        const delay = nextRetryDelay(bases, index + 1, random)!;
        expect(Number.isInteger(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(base * 0.9);
        expect(delay).toBeLessThanOrEqual(base * 1.1);
        min = Math.min(min, delay);
        max = Math.max(max, delay);
      }
      if (base >= 1000) {
        expect(min).toBeLessThan(base * 0.91);
        expect(max).toBeGreaterThan(base * 1.09);
      }
    }
  });

  it('keeps the bound even when the random source misbehaves', () => {
    expect(nextRetryDelay(schedule, 1, () => -3)).toBe(900);
    expect(nextRetryDelay(schedule, 1, () => 7)).toBe(1100);
    expect(nextRetryDelay(schedule, 1, () => Number.NaN)).toBe(1000);
  });

  it('defaults to Math.random within the bound', () => {
    for (let i = 0; i < 200; i++) {
      const delay = nextRetryDelay(schedule, 2)!;
      expect(delay).toBeGreaterThanOrEqual(4500);
      expect(delay).toBeLessThanOrEqual(5500);
    }
  });

  it('rejects an impossible attempt count', () => {
    expect(() => nextRetryDelay(schedule, -1)).toThrow(RangeError);
    expect(() => nextRetryDelay(schedule, 1.5)).toThrow(RangeError);
  });
});

import { Histogram } from '../src/histogram';

describe('latency histogram', () => {
  it('answers percentiles within 1 % of the exact value', () => {
    const histogram = new Histogram();
    const samples = Array.from({ length: 100_000 }, (_, i) => 0.05 + (i % 10_000) * 0.01);
    for (const s of samples) histogram.record(s);
    const sorted = [...samples].sort((a, b) => a - b);
    for (const q of [0.5, 0.9, 0.99, 0.999]) {
      const exact = sorted[Math.ceil(q * sorted.length) - 1] as number;
      expect(Math.abs(histogram.quantile(q) - exact) / exact).toBeLessThan(0.01);
    }
    const summary = histogram.summary();
    expect(summary.count).toBe(100_000);
    expect(summary.minMs).toBeCloseTo(0.05, 5);
    expect(summary.maxMs).toBeCloseTo(100.04, 5);
  });

  it('merges, and says NaN (null in JSON) when empty', () => {
    const a = new Histogram();
    const b = new Histogram();
    a.record(1);
    b.record(3);
    a.merge(b);
    expect(a.count).toBe(2);
    expect(a.summary().maxMs).toBe(3);
    expect(Number.isNaN(new Histogram().quantile(0.5))).toBe(true);
  });
});

/**
 * A log-linear latency histogram: buckets 1 % wide from 1 µs to ~100 s, so
 * any percentile is within 1 % of the truth at constant memory, whatever the
 * number of samples.
 */
const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);
const MAX_US = 100_000_000;
const BUCKETS = Math.ceil(Math.log(MAX_US) / LOG_GROWTH) + 2;

export interface LatencySummary {
  count: number;
  minMs: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

export class Histogram {
  private readonly counts = new Uint32Array(BUCKETS);
  private total = 0;
  private sumMs = 0;
  private min = Infinity;
  private max = 0;

  record(ms: number): void {
    const us = Math.max(1, ms * 1000);
    const index = Math.min(BUCKETS - 1, Math.max(0, Math.floor(Math.log(us) / LOG_GROWTH)));
    this.counts[index] = (this.counts[index] ?? 0) + 1;
    this.total += 1;
    this.sumMs += ms;
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
  }

  merge(other: Histogram): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i] = (this.counts[i] ?? 0) + (other.counts[i] ?? 0);
    this.total += other.total;
    this.sumMs += other.sumMs;
    this.min = Math.min(this.min, other.min);
    this.max = Math.max(this.max, other.max);
  }

  get count(): number {
    return this.total;
  }

  /** The q-quantile (0..1) in ms: the geometric middle of the bucket it falls in. */
  quantile(q: number): number {
    if (this.total === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i] ?? 0;
      if (seen >= rank) {
        const middleUs = GROWTH ** (i + 0.5);
        return Math.min(this.max, Math.max(this.min, middleUs / 1000));
      }
    }
    return this.max;
  }

  summary(): LatencySummary {
    const r = (v: number) => Math.round(v * 1000) / 1000;
    return {
      count: this.total,
      minMs: this.total ? r(this.min) : NaN,
      meanMs: this.total ? r(this.sumMs / this.total) : NaN,
      p50Ms: r(this.quantile(0.5)),
      p90Ms: r(this.quantile(0.9)),
      p99Ms: r(this.quantile(0.99)),
      p999Ms: r(this.quantile(0.999)),
      maxMs: r(this.max),
    };
  }
}

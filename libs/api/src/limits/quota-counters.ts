import { LuaScript } from '@kiln/queue';
import type { Redis } from 'ioredis';
import type { QuotaWindow } from './quota-windows';

/**
 * Check every counter against its limit and, only when all pass, count the
 * run on all of them: one atomic step, so two gateways can never both take
 * the last unit of a quota. A missing counter is reported (never created
 * here as 0): the caller rebuilds it from PostgreSQL first, because Redis
 * keeps nothing on disk and "missing" must not mean "nothing used yet".
 *
 * KEYS: counters. ARGV[i]: limit of KEYS[i] (-1: none, count only).
 * Returns {1} admitted, {0, i, current} refused by KEYS[i], {-1, i} KEYS[i] missing.
 */
const ADMIT = new LuaScript(
  'kiln-quota-admit',
  `
-- One GET per counter both reads it and tells a missing one (to rebuild) apart.
local counts = {}
for i = 1, #KEYS do
  local value = redis.call('GET', KEYS[i])
  if not value then return { -1, i } end
  counts[i] = tonumber(value) or 0
end
for i = 1, #KEYS do
  local limit = tonumber(ARGV[i])
  if limit >= 0 and counts[i] >= limit then return { 0, i, counts[i] } end
end
for i = 1, #KEYS do redis.call('INCR', KEYS[i]) end
return { 1 }
`,
);

/**
 * Un-count a run that was not accepted after all. A counter that vanished
 * meanwhile is left alone: its rebuild already counted from PostgreSQL.
 */
const REFUND = new LuaScript(
  'kiln-quota-refund',
  `
for i = 1, #KEYS do
  local current = tonumber(redis.call('GET', KEYS[i]))
  if current and current > 0 then redis.call('DECR', KEYS[i]) end
end
return #KEYS
`,
);

export interface QuotaCounter {
  key: string;
  /** null: count only, never refuse. */
  limit: number | null;
  window: QuotaWindow;
  /** Unix ms after which the counter is useless (end of its window, plus slack). */
  expireAt: number;
  /** The true count so far, from PostgreSQL, when Redis lost the counter. */
  rebuild(): Promise<number>;
}

export type AdmitOutcome = { admitted: true } | { admitted: false; refusedBy: QuotaCounter; current: number };

export class QuotaCounters {
  constructor(private readonly redis: Redis) {}

  async admit(counters: readonly QuotaCounter[]): Promise<AdmitOutcome> {
    if (counters.length === 0) return { admitted: true };
    const keys = counters.map((c) => c.key);
    const limits = counters.map((c) => c.limit ?? -1);
    // Each round either decides or restores one missing counter.
    for (let round = 0; round <= counters.length + 1; round++) {
      const result = await ADMIT.run<number[]>(this.redis, keys, limits);
      const [status, index, current] = result;
      if (status === 1) return { admitted: true };
      const counter = counters[(index ?? 1) - 1] as QuotaCounter;
      if (status === 0) return { admitted: false, refusedBy: counter, current: current ?? 0 };
      await this.restore(counter);
    }
    throw new Error('quota counters kept disappearing while being rebuilt');
  }

  async refund(keys: readonly string[]): Promise<void> {
    if (keys.length > 0) await REFUND.run(this.redis, keys, []);
  }

  /** The current count (rebuilt from PostgreSQL when Redis lost it). */
  async read(counter: QuotaCounter): Promise<number> {
    const value = await this.redis.get(counter.key);
    if (value !== null) return Number(value);
    await this.restore(counter);
    return Number((await this.redis.get(counter.key)) ?? 0);
  }

  /** SET NX: when two gateways rebuild at once, the first one's count stands and later INCRs are kept. */
  private async restore(counter: QuotaCounter): Promise<void> {
    const count = await counter.rebuild();
    await this.redis.set(counter.key, String(count), 'PXAT', counter.expireAt, 'NX');
  }
}

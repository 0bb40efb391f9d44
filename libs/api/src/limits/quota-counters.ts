import { LuaScript } from '@kiln/queue';
import type { Redis } from 'ioredis';
import type { QuotaWindow } from './quota-windows';
import { TOKEN_BUCKET_LUA, type BucketReply } from './token-bucket';

/**
 * Check every counter against its limit and, only when all pass, count the
 * run on all of them: one atomic step, so two gateways can never both take
 * the last unit of a quota. A missing counter is reported (never created
 * here as 0): the caller rebuilds it from PostgreSQL first, because Redis
 * keeps nothing on disk and "missing" must not mean "nothing used yet".
 *
 * admit_quota(keys, limits): limits[i] of keys[i] (-1: none, count only).
 * Returns {1} admitted, {0, i, current} refused by keys[i], {-1, i} keys[i] missing.
 */
const QUOTA_ADMIT_LUA = `
local function admit_quota(keys, limits)
  -- One GET per counter both reads it and tells a missing one (to rebuild) apart.
  local counts = {}
  for i = 1, #keys do
    local value = redis.call('GET', keys[i])
    if not value then return { -1, i } end
    counts[i] = tonumber(value) or 0
  end
  for i = 1, #keys do
    local limit = tonumber(limits[i])
    if limit >= 0 and counts[i] >= limit then return { 0, i, counts[i] } end
  end
  for i = 1, #keys do redis.call('INCR', keys[i]) end
  return { 1 }
end
`;

const ADMIT = new LuaScript('kiln-quota-admit', `${QUOTA_ADMIT_LUA}\nreturn admit_quota(KEYS, ARGV)\n`);

/**
 * A run request's token (token-bucket.ts) and its quota count in one round
 * trip. KEYS[1]: the bucket, KEYS[2..]: the counters; ARGV[1..3]: burst,
 * refill per second, cost; ARGV[4..]: the counters' limits. Returns
 * {bucket} when the bucket refused (nothing counted), else {bucket, quota}.
 */
const TAKE_AND_ADMIT = new LuaScript(
  'kiln-token-and-quota',
  `${TOKEN_BUCKET_LUA}${QUOTA_ADMIT_LUA}
local bucket = take_token(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
if bucket[1] == 0 then return { bucket } end
local keys, limits = {}, {}
for i = 2, #KEYS do
  keys[i - 1] = KEYS[i]
  limits[i - 1] = ARGV[i + 2]
end
return { bucket, admit_quota(keys, limits) }
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
      const outcome = await this.outcomeOf(counters, await ADMIT.run<number[]>(this.redis, keys, limits));
      if (outcome) return outcome;
    }
    throw new Error('quota counters kept disappearing while being rebuilt');
  }

  /**
   * Takes a token from the bucket and, when it gave one, admits the run on
   * the counters: what admit() decides, in the same round trip as the token
   * in the common case (every counter present). `outcome` is null when the
   * bucket refused: nothing was counted.
   */
  async takeAndAdmit(
    bucket: { key: string; burst: number; refillPerSecond: number; cost: number },
    counters: readonly QuotaCounter[],
  ): Promise<{ bucket: BucketReply; outcome: AdmitOutcome | null }> {
    const [reply, quota] = await TAKE_AND_ADMIT.run<[BucketReply, number[]?]>(
      this.redis,
      [bucket.key, ...counters.map((c) => c.key)],
      [bucket.burst, bucket.refillPerSecond, bucket.cost, ...counters.map((c) => c.limit ?? -1)],
    );
    if (!quota) return { bucket: reply, outcome: null };
    // A missing counter: the token is taken; restore the counter and decide as admit() does.
    return { bucket: reply, outcome: (await this.outcomeOf(counters, quota)) ?? (await this.admit(counters)) };
  }

  /** The outcome a quota reply says, or null after restoring the missing counter it named. */
  private async outcomeOf(counters: readonly QuotaCounter[], [status, index, current]: number[]): Promise<AdmitOutcome | null> {
    if (status === 1) return { admitted: true };
    const counter = counters[(index ?? 1) - 1] as QuotaCounter;
    if (status === 0) return { admitted: false, refusedBy: counter, current: current ?? 0 };
    await this.restore(counter);
    return null;
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

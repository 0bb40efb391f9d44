import { LuaScript } from '@kiln/queue';
import type { Redis } from 'ioredis';

/**
 * Token bucket in Lua: refill by elapsed time, take a token if there is
 * one, store, answer, all atomically inside Redis, so any number of
 * gateways share one bucket per key without a read-modify-write race. The
 * clock is Redis's own (TIME), so gateways with skewed clocks agree.
 *
 * State: hash {t: tokens (float), ts: last update in ms}. The key expires
 * once the bucket would be full again: an idle key costs no memory, and a
 * missing key means "full", which is exactly what it would be.
 *
 * take_token returns {allowed 0|1, whole tokens left, ms until full, ms
 * until one token, now}. A function, so that a run's admission can take the
 * token and count the run in the same script (quota-counters.ts).
 */
export const TOKEN_BUCKET_LUA = `
local function take_token(key, burst, refillPerSecond, cost)
  burst = tonumber(burst)
  local rate = tonumber(refillPerSecond) / 1000
  cost = tonumber(cost)
  local clock = redis.call('TIME')
  local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
  local state = redis.call('HMGET', key, 't', 'ts')
  local tokens = tonumber(state[1])
  local ts = tonumber(state[2])
  if tokens == nil or ts == nil then
    tokens = burst
    ts = now
  end
  if now > ts then
    tokens = tokens + (now - ts) * rate
    ts = now
  end
  if tokens > burst then tokens = burst end
  local allowed = 0
  local wait = 0
  if tokens >= cost then
    tokens = tokens - cost
    allowed = 1
  else
    wait = math.ceil((cost - tokens) / rate)
  end
  local untilFull = math.ceil((burst - tokens) / rate)
  redis.call('HSET', key, 't', string.format('%.6f', tokens), 'ts', ts)
  redis.call('PEXPIRE', key, untilFull + 1000)
  return { allowed, math.floor(tokens), untilFull, wait, now }
end
`;

const TAKE = new LuaScript('kiln-token-bucket', `${TOKEN_BUCKET_LUA}\nreturn take_token(KEYS[1], ARGV[1], ARGV[2], ARGV[3])\n`);

export interface BucketLimits {
  burst: number;
  refillPerSecond: number;
}

export interface BucketDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Unix ms at which the bucket is full again. */
  resetAt: number;
  /** Whole seconds until one token is back (only meaningful when refused; ≥ 1). */
  retryAfterSeconds: number;
}

export class TokenBucket {
  constructor(private readonly redis: Redis) {}

  async take(key: string, limits: BucketLimits, cost = 1): Promise<BucketDecision> {
    return bucketDecision(limits, await TAKE.run<BucketReply>(this.redis, [key], [limits.burst, limits.refillPerSecond, cost]));
  }
}

/** What take_token returns: {allowed 0|1, whole tokens left, ms until full, ms until one token, now}. */
export type BucketReply = [number, number, number, number, number];

export function bucketDecision(limits: BucketLimits, [allowed, remaining, untilFull, wait, now]: BucketReply): BucketDecision {
  return {
    allowed: allowed === 1,
    limit: limits.burst,
    remaining,
    resetAt: now + untilFull,
    retryAfterSeconds: Math.max(1, Math.ceil(wait / 1000)),
  };
}

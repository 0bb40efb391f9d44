import { LuaScript } from '@kiln/queue';
import type { Redis } from 'ioredis';

/**
 * Token bucket in one Lua script: refill by elapsed time, take a token if
 * there is one, store, answer, all atomically inside Redis, so any number of
 * gateways share one bucket per key without a read-modify-write race. The
 * clock is Redis's own (TIME), so gateways with skewed clocks agree.
 *
 * State: hash {t: tokens (float), ts: last update in ms}. The key expires
 * once the bucket would be full again: an idle key costs no memory, and a
 * missing key means "full", which is exactly what it would be.
 *
 * Returns {allowed 0|1, whole tokens left, ms until full, ms until one token}.
 */
const TAKE = new LuaScript(
  'kiln-token-bucket',
  `
local burst = tonumber(ARGV[1])
local rate = tonumber(ARGV[2]) / 1000
local cost = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 't', 'ts')
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
redis.call('HSET', KEYS[1], 't', string.format('%.6f', tokens), 'ts', ts)
redis.call('PEXPIRE', KEYS[1], untilFull + 1000)
return { allowed, math.floor(tokens), untilFull, wait, now }
`,
);

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
    const [allowed, remaining, untilFull, wait, now] = await TAKE.run<[number, number, number, number, number]>(
      this.redis,
      [key],
      [limits.burst, limits.refillPerSecond, cost],
    );
    return {
      allowed: allowed === 1,
      limit: limits.burst,
      remaining,
      resetAt: now + untilFull,
      retryAfterSeconds: Math.max(1, Math.ceil(wait / 1000)),
    };
  }
}

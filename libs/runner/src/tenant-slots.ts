import { LuaScript } from '@kiln/queue';
import type { Redis } from 'ioredis';

// Per-tenant concurrency (SPEC §8: default 5 running executions per tenant).
//
// Slots: a sorted set per tenant, member = executionId, score = lease expiry
// (Redis clock, ms). Taking a slot drops expired leases first, so the slots
// of a worker that died come back by themselves after one lease; a running
// worker renews its leases every third of a lease.
//
// Waiting: a run that finds its tenant full goes back to the queue as a
// delayed BullMQ job (no attempt counted, status stays `pending`) and the
// worker moves on to the next job, usually another tenant's: one tenant's
// backlog never stands in front of another tenant's runs. Its job id is also
// remembered in a per-tenant "deferred" sorted set (score = job creation
// time): whoever frees a slot promotes the oldest deferred job at once, so
// a slot does not sit idle until a timer fires. The delay itself is only the
// safety net (a promotion that raced, a dead worker's slot expiring).

/** Take a slot (re-entrant per execution) or report how many deferred runs are ahead. */
const ACQUIRE = new LuaScript(
  'kiln-tenant-slot-acquire',
  `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local lease = tonumber(ARGV[4])
local limit = tonumber(ARGV[3])
local running = redis.call('ZCARD', KEYS[1])
-- Expired leases (a dead worker's) only matter when the tenant looks full,
-- and a re-taken slot only when the execution may already hold one.
if running >= limit then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  running = redis.call('ZCARD', KEYS[1])
end
if running < limit or redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  if redis.call('ZADD', KEYS[1], now + lease, ARGV[1]) == 1 then running = running + 1 end
  redis.call('PEXPIRE', KEYS[1], lease * 2)
  redis.call('ZREM', KEYS[2], ARGV[2])
  return { 1, running, 0 }
end
return { 0, running, redis.call('ZCOUNT', KEYS[2], '-inf', '(' .. ARGV[5]) }
`,
);

/**
 * Remember a deferred job; if a slot freed meanwhile (a release that ran
 * before we were remembered found nobody to promote), hand back the oldest
 * deferred job to promote now. Either this or the release sees the other.
 */
const DEFER = new LuaScript(
  'kiln-tenant-slot-defer',
  `
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  local popped = redis.call('ZPOPMIN', KEYS[2])
  return popped[1] or false
end
return false
`,
);

/** Give a slot back (ARGV[1] may be empty: "is there a free slot for the next one?"); returns a job to promote. */
const RELEASE = new LuaScript(
  'kiln-tenant-slot-release',
  `
if ARGV[1] ~= '' then redis.call('ZREM', KEYS[1], ARGV[1]) end
-- Nobody deferred: nothing to promote, and nothing else to look at.
if redis.call('EXISTS', KEYS[2]) == 0 then return false end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  local popped = redis.call('ZPOPMIN', KEYS[2])
  return popped[1] or false
end
return false
`,
);

const RENEW = new LuaScript(
  'kiln-tenant-slot-renew',
  `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return 1
`,
);

export type AcquireResult = { taken: true; running: number } | { taken: false; running: number; ahead: number };

/**
 * The Redis side of per-tenant concurrency, one atomic script per step.
 * Keys: `<prefix>:limits:tenant:<id>:running` (execution → lease expiry) and
 * `…:deferred` (job id → job creation time).
 */
export class TenantSlots {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /** Re-entrant: an execution that already holds a slot (a stalled job retaken) keeps it. */
  async acquire(tenantId: string, executionId: string, job: { id: string; timestamp: number }, limit: number, leaseMs: number): Promise<AcquireResult> {
    const [taken, running, ahead] = await ACQUIRE.run<[number, number, number]>(this.redis, this.keys(tenantId), [executionId, job.id, limit, leaseMs, job.timestamp]);
    return taken === 1 ? { taken: true, running } : { taken: false, running, ahead };
  }

  /** Remembers a deferred job; returns a job id to promote when a slot is free after all. */
  defer(tenantId: string, job: { id: string; timestamp: number }, limit: number, ttlMs: number): Promise<string | null> {
    return DEFER.run<string | null>(this.redis, this.keys(tenantId), [job.id, job.timestamp, limit, ttlMs]);
  }

  /** Frees the execution's slot (null: none, just look for a free one); returns a deferred job id to promote. */
  release(tenantId: string, executionId: string | null, limit: number): Promise<string | null> {
    return RELEASE.run<string | null>(this.redis, this.keys(tenantId), [executionId ?? '', limit]);
  }

  async renew(tenantId: string, executionId: string, leaseMs: number): Promise<void> {
    await RENEW.run(this.redis, [this.keys(tenantId)[0]], [executionId, leaseMs]);
  }

  keys(tenantId: string): [string, string] {
    const base = `${this.prefix}:limits:tenant:${tenantId}`;
    return [`${base}:running`, `${base}:deferred`];
  }
}

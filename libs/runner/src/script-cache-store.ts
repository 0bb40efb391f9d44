import { Injectable } from '@nestjs/common';
import type { KilnConfig } from '@kiln/config';
import type { ClaimedExecution } from '@kiln/db';
import { InjectConfig, InjectRedis } from '@kiln/platform';
import type { Redis } from 'ioredis';
import { HostCallError } from './host-call-error';

const MAX_KEY_LENGTH = 512;
/** Scripts without a stored script (ad-hoc runs of POST /v1/runs) share one namespace per tenant. */
const ADHOC_SCRIPT = 'adhoc';

export interface CacheOwner {
  tenantId: string;
  scriptId: string | null;
}

/**
 * `sdk.cache` in Redis. Every key lives under
 * `<KILN_REDIS_PREFIX>:tenant:{tenantId}:script:{scriptId}:` (SPEC §5's
 * shape after the installation prefix), so a script can only ever name its
 * own keys: the owner comes from the claimed execution, never from the
 * script. Values are stored as JSON text; ttl is in seconds.
 */
@Injectable()
export class ScriptCacheStore {
  constructor(
    @InjectConfig() private readonly config: KilnConfig,
    @InjectRedis() private readonly redis: Redis,
  ) {}

  namespace(owner: CacheOwner): string {
    return `${this.config.redis.prefix}:tenant:${owner.tenantId}:script:${owner.scriptId ?? ADHOC_SCRIPT}:`;
  }

  async call(owner: Pick<ClaimedExecution, 'tenantId' | 'scriptId'>, op: string, args: unknown[]): Promise<unknown> {
    const key = this.keyOf(owner, op, args[0]);
    switch (op) {
      case 'cache.get': {
        const raw = await this.redis.get(key);
        return raw === null ? null : (JSON.parse(raw) as unknown);
      }
      case 'cache.set': {
        const json = JSON.stringify(args[1] === undefined ? null : args[1]);
        const limit = this.config.runs.sdkCacheMaxValueBytes;
        if (Buffer.byteLength(json, 'utf8') > limit) {
          throw new HostCallError(`cache.set: the value is over ${limit} bytes as JSON (KILN_SDK_CACHE_MAX_VALUE_BYTES)`);
        }
        const ttlMs = ttlMsOf(args[2]);
        if (ttlMs === undefined) await this.redis.set(key, json);
        else await this.redis.set(key, json, 'PX', ttlMs);
        return true;
      }
      case 'cache.delete':
        return (await this.redis.del(key)) > 0;
      case 'cache.exists':
        return (await this.redis.exists(key)) > 0;
      case 'cache.increment':
        return this.increment(key, args[0] as string, args[1]);
      default:
        throw new HostCallError(`${op} is not available in this sandbox`);
    }
  }

  private keyOf(owner: CacheOwner, op: string, key: unknown): string {
    if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
      throw new HostCallError(`${op}: the key must be a string of 1-${MAX_KEY_LENGTH} characters`);
    }
    return `${this.namespace(owner)}${key}`;
  }

  private async increment(key: string, name: string, delta: unknown): Promise<number> {
    const by = delta === undefined || delta === null ? 1 : Number(delta);
    if (!Number.isFinite(by)) throw new HostCallError('cache.increment: the amount must be a finite number');
    try {
      if (Number.isSafeInteger(by)) return await this.redis.incrby(key, by);
      return Number(await this.redis.incrbyfloat(key, by));
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (/not an integer|not a valid float|out of range/i.test(message)) {
        // An integer step on a stored float ("1.5") is fine as a float step.
        if (Number.isSafeInteger(by) && /not an integer/i.test(message)) {
          try {
            return Number(await this.redis.incrbyfloat(key, by));
          } catch {
            // fall through to the script-facing error
          }
        }
        throw new HostCallError(`cache.increment: the value at '${name}' is not a number`);
      }
      throw err;
    }
  }
}

function ttlMsOf(ttl: unknown): number | undefined {
  if (ttl === undefined || ttl === null) return undefined;
  const seconds = Number(ttl);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new HostCallError('cache.set: ttl must be a positive number of seconds');
  return Math.max(1, Math.round(seconds * 1000));
}

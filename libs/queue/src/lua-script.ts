import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { CommandCoalescer } from './command-coalescer';

/**
 * A Lua script that runs atomically in Redis: EVALSHA on the hot path (one
 * round trip, the script text is not resent, and calls made while another
 * is in flight share one pipeline: see CommandCoalescer), EVAL once when
 * Redis does not know the script yet (first use, or after a restart flushed
 * the cache).
 */
export class LuaScript {
  readonly sha: string;

  constructor(
    readonly name: string,
    readonly source: string,
  ) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run<T = unknown>(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<T> {
    try {
      return await CommandCoalescer.for(redis).call<T>('evalsha', this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return (await redis.eval(this.source, keys.length, ...keys, ...args)) as T;
    }
  }
}

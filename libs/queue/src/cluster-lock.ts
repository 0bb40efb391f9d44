import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LuaScript } from './lua-script';

const RENEW = new LuaScript(
  'kiln-cluster-lock-renew',
  `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`,
);
const RELEASE = new LuaScript('kiln-cluster-lock-release', `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`);

/**
 * One holder across the cluster for background chores (reconciling,
 * purging): SET NX with a TTL, so a holder that dies frees it by itself;
 * renew and release only succeed for the token that took it.
 */
export class ClusterLock {
  private readonly token = randomBytes(12).toString('hex');

  constructor(
    private readonly redis: Redis,
    readonly key: string,
    private readonly ttlMs: number,
  ) {}

  async acquire(): Promise<boolean> {
    return (await this.redis.set(this.key, this.token, 'PX', this.ttlMs, 'NX')) === 'OK';
  }

  async renew(): Promise<boolean> {
    return (await RENEW.run<number>(this.redis, [this.key], [this.token, this.ttlMs])) === 1;
  }

  async release(): Promise<void> {
    await RELEASE.run(this.redis, [this.key], [this.token]);
  }
}

import { Redis, type RedisOptions } from 'ioredis';

export type RedisRole = 'producer' | 'worker' | 'subscriber' | 'client';

/**
 * BullMQ's rules of the road: workers and subscribers block and must retry
 * forever (`maxRetriesPerRequest: null`); producers fail fast so an API call
 * errors instead of hanging when Redis is down.
 */
export function createRedis(url: string, role: RedisRole, name?: string): Redis {
  const options: RedisOptions = {
    lazyConnect: false,
    connectionName: name ? `kiln:${name}` : undefined,
    maxRetriesPerRequest: role === 'producer' || role === 'client' ? 2 : null,
    enableOfflineQueue: true,
    // A subscriber connection cannot run the INFO ready check once it has subscribed.
    enableReadyCheck: role !== 'subscriber',
    retryStrategy: (times) => Math.min(times * 200, 2000),
  };
  const redis = new Redis(url, options);
  // Without a listener ioredis reports reconnect errors as unhandled.
  redis.on('error', () => undefined);
  return redis;
}

/** Resolves when the connection is ready, or rejects with a message that names the fix. */
export async function waitForRedis(redis: Redis, url: string, timeoutMs = 10_000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      const safe = url.replace(/\/\/[^@/]*@/, '//***@');
      reject(new Error(`Redis at ${safe} did not answer within ${timeoutMs} ms: start redis-server, or set REDIS_URL`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
    };
    redis.on('ready', onReady);
  });
}

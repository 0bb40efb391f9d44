import { Redis } from 'ioredis';
import { testEnv, uniqueSuffix } from './test-env';

/** A Redis key prefix of this test file's own (and a cleanup for it). */
export function createTestRedisPrefix(): { prefix: string; url: string; cleanup(): Promise<number> } {
  const env = testEnv();
  const prefix = `${env.redisPrefix}-${uniqueSuffix()}`;
  return {
    prefix,
    url: env.redisUrl,
    async cleanup() {
      const redis = new Redis(env.redisUrl, { maxRetriesPerRequest: 1 });
      let deleted = 0;
      try {
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length > 0) deleted += await redis.unlink(...keys);
        } while (cursor !== '0');
      } finally {
        redis.disconnect();
      }
      return deleted;
    },
  };
}

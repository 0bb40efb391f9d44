import { Redis } from 'ioredis';
import { loadConfig } from '@kiln/config';
import { createLogger, createMetricsRegistry } from '@kiln/observability';
import { createTestRedisPrefix } from '@kiln/testing';
import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthContext } from '../src/auth/auth-context';
import { RateLimitExceeded } from '../src/limits/rate-limit-exceeded';
import { registerRateLimitProfile } from '../src/limits/rate-limit-profiles';
import type { ExecutionQuotas } from '../src/limits/execution-quotas';
import { RateLimiter } from '../src/limits/rate-limiter';
import { TokenBucket } from '../src/limits/token-bucket';

// The token bucket against a real Redis: exact counts come from the script's
// answers, never from timing; refill is observed by asking again.
describe('token bucket (Lua, real Redis)', () => {
  const redisEnv = createTestRedisPrefix();
  const a = new Redis(redisEnv.url);
  const b = new Redis(redisEnv.url);
  const key = (name: string) => `${redisEnv.prefix}:rl:test:${name}:${randomBytes(3).toString('hex')}`;

  afterAll(async () => {
    a.disconnect();
    b.disconnect();
    await redisEnv.cleanup();
  });

  it('hands out exactly burst tokens, counting down, then refuses with a retry time', async () => {
    const bucket = new TokenBucket(a);
    const k = key('countdown');
    const limits = { burst: 5, refillPerSecond: 0.01 };
    const before = Date.now();
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await bucket.take(k, limits));
    expect(answers.map((d) => d.allowed)).toEqual([true, true, true, true, true, false]);
    expect(answers.map((d) => d.remaining)).toEqual([4, 3, 2, 1, 0, 0]);
    expect(answers.every((d) => d.limit === 5)).toBe(true);
    const refused = answers[5];
    // One token at 0.01/s takes (up to) 100 s; the bucket is full again after 500 s.
    expect(refused?.retryAfterSeconds).toBeGreaterThanOrEqual(99);
    expect(refused?.retryAfterSeconds).toBeLessThanOrEqual(100);
    expect(refused?.resetAt).toBeGreaterThan(before + 490_000);
    expect(refused?.resetAt).toBeLessThan(Date.now() + 501_000);
    // A refused take costs nothing and sets a TTL (an idle bucket vanishes once full).
    expect(await a.pttl(k)).toBeGreaterThan(490_000);
  });

  it('is atomic across connections: 60 concurrent takes from two clients get exactly burst tokens', async () => {
    const k = key('race');
    const limits = { burst: 25, refillPerSecond: 0.001 };
    const buckets = [new TokenBucket(a), new TokenBucket(b)];
    const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => (buckets[i % 2] as TokenBucket).take(k, limits)));
    expect(answers.filter((d) => d.allowed)).toHaveLength(25);
    const remainings = answers.filter((d) => d.allowed).map((d) => d.remaining).sort((x, y) => x - y);
    expect(remainings).toEqual(Array.from({ length: 25 }, (_, i) => i));
  });

  it('refills over time up to the burst, never beyond, and honours a changed burst at once', async () => {
    const bucket = new TokenBucket(a);
    const k = key('refill');
    for (let i = 0; i < 3; i++) await bucket.take(k, { burst: 3, refillPerSecond: 50 });
    const drained = await bucket.take(k, { burst: 3, refillPerSecond: 50 });
    // Announced reset: the bucket is full again by then (plus the ms granularity of the clock).
    const { resetAt } = drained;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, resetAt - Date.now()) + 20));
    const full = await bucket.take(k, { burst: 3, refillPerSecond: 50 });
    expect(full).toMatchObject({ allowed: true, remaining: 2 });
    // A smaller burst (key override lowered) caps the stored tokens.
    const capped = await bucket.take(k, { burst: 1, refillPerSecond: 0.001 });
    expect(capped).toMatchObject({ allowed: true, remaining: 0, limit: 1 });
    expect((await bucket.take(k, { burst: 1, refillPerSecond: 0.001 })).allowed).toBe(false);
  });

  describe('RateLimiter (profiles, overrides, headers)', () => {
    // Slow refills, so that counting down never depends on how fast the calls go.
    const config = loadConfig({
      REDIS_URL: redisEnv.url,
      KILN_REDIS_PREFIX: redisEnv.prefix,
      KILN_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      KILN_RATE_LIMIT_REFILL_PER_SEC: '0.01',
      KILN_AGENTS_RATE_LIMIT_REFILL_PER_SEC: '0.01',
    });
    // Never asked for quotas: these requests start no run (run admission is tested in run-pre-admission.int-spec.ts).
    const noQuotas = {} as ExecutionQuotas;
    const limiter = new RateLimiter(config, createLogger({ name: 'test', level: 'silent' }), a, createMetricsRegistry('test'), noQuotas);
    const auth = (over: Partial<AuthContext> = {}): AuthContext => ({
      apiKeyId: randomBytes(16).toString('hex'),
      tenantId: 't',
      tenantSlug: 't',
      scopes: [],
      isAdmin: false,
      keyPrefix: 'ak_12345',
      monthlyExecutionLimit: null,
      rateLimit: { burst: null, refillPerSecond: null },
      webhook: null,
      ...over,
    });
    const call = async (url: string, who: AuthContext) => {
      const headers: Record<string, string> = {};
      const reply = { header: (name: string, value: string) => ((headers[name] = value), reply) } as unknown as FastifyReply;
      try {
        await limiter.apply({ url } as FastifyRequest, reply, who);
        return { headers, refused: null };
      } catch (err) {
        if (!(err instanceof RateLimitExceeded)) throw err;
        return { headers, refused: err };
      }
    };

    it('uses the configured burst (100) on /v1 and the agents profile (10) on /api/v1/public, as separate buckets', async () => {
      const who = auth();
      const native = await call('/v1/scripts?limit=1', who);
      expect(native.headers['X-RateLimit-Limit']).toBe('100');
      expect(native.headers['X-RateLimit-Remaining']).toBe('99');
      expect(Number(native.headers['X-RateLimit-Reset'])).toBeGreaterThan(Date.now() - 1000);
      const agents = [];
      for (let i = 0; i < 11; i++) agents.push(await call('/api/v1/public/agents/x/execute', who));
      expect(agents[0]?.headers['X-RateLimit-Limit']).toBe('10');
      expect(agents.map((r) => r.headers['X-RateLimit-Remaining'])).toEqual(['9', '8', '7', '6', '5', '4', '3', '2', '1', '0', '0']);
      const retryAfter = agents[10]?.refused?.retryAfterSeconds ?? 0;
      expect(retryAfter).toBeGreaterThanOrEqual(99);
      expect(retryAfter).toBeLessThanOrEqual(100);
      expect(agents[10]?.refused?.body).toEqual({ statusCode: 429, message: 'Rate limit exceeded', error: 'Too Many Requests', retryAfter });
      expect(agents[10]?.headers['Retry-After']).toBe(String(retryAfter));
      // The agents surface's bucket is its own: the native one still has 98 after this.
      expect((await call('/v1/scripts', who)).headers['X-RateLimit-Remaining']).toBe('98');
      // Keys without a monthly limit get the agents default there, and only there.
      expect(who.monthlyExecutionLimit).toBe(1000);
      const nativeOnly = auth();
      await call('/v1/runs', nativeOnly);
      expect(nativeOnly.monthlyExecutionLimit).toBeNull();
      const ownLimit = auth({ monthlyExecutionLimit: 7 });
      await call('/api/v1/public/agents/x/execute', ownLimit);
      expect(ownLimit.monthlyExecutionLimit).toBe(7);
    });

    it('lets a key override burst and refill; registered profiles pick by longest prefix', async () => {
      const who = auth({ rateLimit: { burst: 2, refillPerSecond: 0.01 } });
      const results = [await call('/v1/scripts', who), await call('/v1/scripts', who), await call('/v1/scripts', who)];
      expect(results.map((r) => r.headers['X-RateLimit-Limit'])).toEqual(['2', '2', '2']);
      expect(results[2]?.refused?.retryAfterSeconds).toBeGreaterThan(90);
      registerRateLimitProfile('/scenarios', { name: 'scenarios', burst: 3, refillPerSecond: 1, defaultMonthlyExecutionLimit: null });
      registerRateLimitProfile('/scenarios/special', { name: 'special', burst: 4, refillPerSecond: 1, defaultMonthlyExecutionLimit: null });
      expect(limiter.profileFor('/scenarios/1/run').name).toBe('scenarios');
      expect(limiter.profileFor('/scenarios/special/x').name).toBe('special');
      expect(limiter.profileFor('/scenariosX').name).toBe('api');
      expect(limiter.profileFor('/api/v1/publicity').name).toBe('api');
      expect(() => registerRateLimitProfile('no-slash', { name: 'x', burst: 1, refillPerSecond: 1, defaultMonthlyExecutionLimit: null })).toThrow(/prefix/);
    });

    it('fails open (no headers, no refusal) when Redis does not answer', async () => {
      const dead = new Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
      dead.on('error', () => undefined);
      const offline = new RateLimiter(config, createLogger({ name: 'test', level: 'silent' }), dead, createMetricsRegistry('test2'), noQuotas);
      const headers: Record<string, string> = {};
      const reply = { header: (name: string, value: string) => ((headers[name] = value), reply) } as unknown as FastifyReply;
      await expect(offline.apply({ url: '/v1/scripts' } as FastifyRequest, reply, auth())).resolves.toBeUndefined();
      expect(headers).toEqual({});
      dead.disconnect();
    });
  });
});

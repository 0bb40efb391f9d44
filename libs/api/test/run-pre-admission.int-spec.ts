import { randomBytes } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Redis } from 'ioredis';
import { eventually } from '@kiln/testing';
import { EventEmitter } from 'node:events';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiKeyResolver } from '../src/auth/api-key-resolver';
import { RateLimiter } from '../src/limits/rate-limiter';
import { startApiTestApp } from './api-test-app';

// A run request's quotas are decided by the API key guard in the same Redis
// round trip as its rate-limit token, before the body is validated. What a
// caller sees must not change: only accepted runs count, and 400/404/422 come
// before a quota refusal. Real PostgreSQL and Redis, HTTP on loopback; no
// worker runs, so accepted runs stay pending.
describe('run quotas decided with the rate-limit token (real Redis and PostgreSQL)', () => {
  const adminKey = `ak_${randomBytes(32).toString('hex')}`;
  let app: NestFastifyApplication;
  let close: () => Promise<void>;
  let url: string;
  let prefix: string;
  let redis: Redis;
  let scriptId: string;

  beforeAll(async () => {
    let redisUrl: string;
    ({ app, close, url, redisUrl, redisPrefix: prefix } = await startApiTestApp({ env: { KILN_ADMIN_KEY: adminKey } }));
    redis = new Redis(redisUrl);
    const script = await call(adminKey, 'POST', '/v1/scripts', { name: 'sum', source: 'module.exports = ({ input }) => ({ sum: input.a + input.b });' });
    expect(script.status).toBe(201);
    scriptId = script.body.id as string;
  }, 60_000);

  afterAll(async () => {
    await close?.();
    redis?.disconnect();
  });

  async function call(key: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, any>; headers: Headers }> {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : {}, headers: res.headers };
  }

  async function keyWith(fields: Record<string, unknown>): Promise<{ id: string; key: string }> {
    const created = await call(adminKey, 'POST', '/v1/api-keys', { name: 'pre-admission', scopes: ['scripts.read', 'executions.run', 'executions.read'], ...fields });
    expect(created.status).toBe(201);
    return { id: created.body.id as string, key: created.body.key as string };
  }

  const usage = async (id: string): Promise<number> => (await call(adminKey, 'GET', `/v1/api-keys/${id}`)).body.usage.executions as number;
  const run = (key: string, body: unknown = { input: { a: 1, b: 2 } }) => call(key, 'POST', `/v1/scripts/${scriptId}/runs`, body);

  it('counts an accepted run once', async () => {
    const k = await keyWith({});
    const accepted = await run(k.key);
    expect(accepted.status).toBe(202);
    expect(accepted.headers.get('x-ratelimit-remaining')).not.toBeNull();
    expect(await usage(k.id)).toBe(1);
    expect((await call(k.key, 'POST', '/v1/runs', { source: 'results.ok = true' })).status).toBe(202);
    expect(await usage(k.id)).toBe(2);
  });

  it('gives the count back when the request fails after the guard (bad body, unknown script, bad source), and for a replay', async () => {
    const k = await keyWith({});
    const bad = await run(k.key, { input: { a: 1 }, wait: 'soon' });
    expect(bad.status).toBe(400);
    expect((await call(k.key, 'POST', '/v1/scripts/0198c1b2-0000-7000-8000-000000000000/runs', {})).status).toBe(404);
    const badSource = await call(k.key, 'POST', '/v1/runs', { source: 'results.x = (' });
    expect(badSource.status).toBe(400);
    expect(badSource.body.error.code).toBe('VALIDATION_ERROR');
    // Each of them was counted by the guard and refunded when its answer went out.
    await eventually(async () => ((await usage(k.id)) === 0 ? true : undefined), { what: 'refunds of the three failed requests' });
    expect((await run(k.key, { input: { a: 1, b: 2 }, idempotencyKey: 'once' })).status).toBe(202);
    expect((await run(k.key, { input: { a: 1, b: 2 }, idempotencyKey: 'once' })).status).toBe(202);
    expect(await usage(k.id)).toBe(1);
  });

  it('answers 400 and 404 before 403 past the monthly limit, and never counts the refused run', async () => {
    const k = await keyWith({ monthlyExecutionLimit: 1 });
    expect((await run(k.key)).status).toBe(202);
    expect((await run(k.key, { input: 'not an object', wait: 'soon' })).status).toBe(400);
    expect((await call(k.key, 'POST', '/v1/scripts/0198c1b2-0000-7000-8000-000000000000/runs', {})).status).toBe(404);
    const refused = await run(k.key);
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'USAGE_LIMIT_EXCEEDED', details: { limit: 1, used: 1 } });
    expect(await usage(k.id)).toBe(1);
  });

  it('counts nothing for a request the token bucket refuses', async () => {
    const k = await keyWith({ rateLimit: { burst: 1, refillPerSecond: 0.001 } });
    expect((await run(k.key)).status).toBe(202);
    const limited = await run(k.key);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).not.toBeNull();
    expect(await usage(k.id)).toBe(1);
  });

  it('counts in the guard\'s own round trip, and settles once the response is over', async () => {
    const k = await keyWith({});
    const limiter = app.get(RateLimiter);
    const auth = { ...(await app.get(ApiKeyResolver).resolve(k.key)) };
    const raw = Object.assign(new EventEmitter(), { closed: false });
    const request = { url: `/v1/scripts/${scriptId}/runs` } as FastifyRequest;
    const reply = { raw, header: () => reply } as unknown as FastifyReply;
    await limiter.apply(request, reply, auth, { countRun: true });
    // Counted before any handler ran: the counter is in Redis already.
    const month = new Date().toISOString().slice(0, 7);
    expect(await redis.get(`${prefix}:quota:key:${k.id}:${month}`)).toBe('1');
    expect(request.kilnPreAdmittedRun).toBeDefined();
    raw.emit('close');
    await eventually(async () => ((await redis.get(`${prefix}:quota:key:${k.id}:${month}`)) === '0' ? true : undefined), { what: 'the refund on close' });
    // Settled: a late take() decides afresh instead of using the refunded count.
    expect(request.kilnPreAdmittedRun?.take()).toBeNull();

    // A client that left while the token was being taken: nothing stays counted for it.
    const gone = { url: `/v1/scripts/${scriptId}/runs` } as FastifyRequest;
    const goneReply = { raw: Object.assign(new EventEmitter(), { closed: true }), header: () => goneReply } as unknown as FastifyReply;
    await limiter.apply(gone, goneReply, auth, { countRun: true });
    await eventually(async () => ((await redis.get(`${prefix}:quota:key:${k.id}:${month}`)) === '0' ? true : undefined), { what: 'the refund for a closed response' });
    expect(gone.kilnPreAdmittedRun?.take()).toBeNull();
  });

  it('rebuilds a counter Redis lost from PostgreSQL, then counts on', async () => {
    const k = await keyWith({ monthlyExecutionLimit: 2 });
    expect((await run(k.key)).status).toBe(202);
    const month = new Date().toISOString().slice(0, 7);
    expect(await redis.del(`${prefix}:quota:key:${k.id}:${month}`)).toBe(1);
    expect((await run(k.key)).status).toBe(202);
    expect(await usage(k.id)).toBe(2);
    expect((await run(k.key)).status).toBe(403);
  });
});

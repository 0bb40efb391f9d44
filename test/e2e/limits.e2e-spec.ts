import { Redis } from 'ioredis';
import { ApiClient, eventually, KilnStack } from '@kiln/testing';

// SPEC §8 end to end: real gateway and worker processes, real Redis and
// PostgreSQL. Bucket behaviour is read from the headers the gateway sends
// (never inferred from timing); concurrency is sampled through the API.
describe('limits and quotas end to end', () => {
  let stack: KilnStack;
  let admin: ApiClient;

  beforeAll(async () => {
    stack = await KilnStack.start({ apps: ['gateway', 'worker'] });
    admin = stack.admin();
  });
  afterAll(() => stack?.stop());

  const rl = (res: { headers: Headers }) => ({
    limit: res.headers.get('x-ratelimit-limit'),
    remaining: res.headers.get('x-ratelimit-remaining'),
    reset: Number(res.headers.get('x-ratelimit-reset')),
  });

  async function keyWith(client: ApiClient, body: Record<string, unknown>): Promise<{ id: string; key: string; client: ApiClient }> {
    const created = await client.post('/v1/api-keys', { name: 'limits', ...body });
    expect(created.status).toBe(201);
    return { id: created.body.id, key: created.body.key, client: client.withKey(created.body.key) };
  }

  async function createScript(client: ApiClient, source: string): Promise<string> {
    const res = await client.post('/v1/scripts', { name: `s-${Math.random().toString(36).slice(2, 10)}`, source });
    expect(res.status).toBe(201);
    return res.body.id as string;
  }

  describe('token bucket per API key', () => {
    it('sends X-RateLimit-* on every authenticated answer (errors included) with the configured default', async () => {
      const { client } = await stack.tenant();
      const before = Date.now();
      const first = await client.get('/v1/scripts');
      expect(first.status).toBe(200);
      expect(rl(first)).toMatchObject({ limit: '100', remaining: '99' });
      // Reset: when the bucket is full again (1 token at 50/s = 20 ms), in Unix ms.
      expect(rl(first).reset).toBeGreaterThanOrEqual(before);
      expect(rl(first).reset).toBeLessThan(Date.now() + 1000);
      // Errors after authentication carry the headers too.
      const missing = await client.get('/v1/executions/0198c1b2-0000-7000-8000-000000000000');
      expect(missing.status).toBe(404);
      expect(rl(missing).limit).toBe('100');
      const readOnly = await keyWith(client, { scopes: ['scripts.read'] });
      const forbidden = await readOnly.client.post('/v1/scripts', { name: 'nope', source: '1' });
      expect(forbidden.status).toBe(403);
      expect(rl(forbidden)).toMatchObject({ limit: '100', remaining: '99' });
      // Not authenticated: no bucket, no headers.
      const anonymous = await new ApiClient(stack.url).get('/v1/scripts');
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('x-ratelimit-limit')).toBeNull();
    });

    it('counts down per request, then answers 429 with the exact body and Retry-After (per-key override)', async () => {
      const { client } = await stack.tenant();
      const slow = await keyWith(client, { rateLimit: { burst: 5, refillPerSecond: 0.01 } });
      const remaining: (string | null)[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await slow.client.get('/v1/scripts');
        expect(res.status).toBe(200);
        expect(rl(res).limit).toBe('5');
        remaining.push(rl(res).remaining);
      }
      expect(remaining).toEqual(['4', '3', '2', '1', '0']);
      const refused = await slow.client.post('/v1/runs', { source: 'results.x = 1' });
      expect(refused.status).toBe(429);
      const retryAfter = Number(refused.headers.get('retry-after'));
      // One token at 0.01/s: up to 100 s.
      expect(retryAfter).toBeGreaterThanOrEqual(99);
      expect(retryAfter).toBeLessThanOrEqual(100);
      expect(refused.text).toBe(JSON.stringify({ statusCode: 429, message: 'Rate limit exceeded', error: 'Too Many Requests', retryAfter }));
      expect(refused.headers.get('content-type')).toMatch(/^application\/json/);
      expect(rl(refused)).toMatchObject({ limit: '5', remaining: '0' });
      expect(rl(refused).reset).toBeGreaterThan(Date.now() + 400_000);
      // Nothing was started by the refused run; other keys of the tenant have their own buckets.
      expect((await client.get('/v1/executions')).body.total).toBe(0);
      // PATCHing the override applies at once (the key cache is invalidated).
      const patched = await client.patch(`/v1/api-keys/${slow.id}`, { rateLimit: { burst: 1000, refillPerSecond: 1000 } });
      expect(patched.status).toBe(200);
      const after = await slow.client.get('/v1/scripts');
      expect(after.status).toBe(200);
      expect(rl(after).limit).toBe('1000');
    });

    it('refills: after the announced reset the bucket is full again', async () => {
      const { client } = await stack.tenant();
      const fast = await keyWith(client, { rateLimit: { burst: 3, refillPerSecond: 5 } });
      let last = await fast.client.get('/v1/scripts');
      // Drive the bucket until it refuses (a refill of 5/s cannot keep up with back-to-back requests).
      for (let i = 0; i < 200 && last.status !== 429; i++) last = await fast.client.get('/v1/scripts');
      expect(last.status).toBe(429);
      expect(rl(last).remaining).toBe('0');
      // Wait for the reset the server announced, then ask: full bucket minus this request.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, rl(last).reset - Date.now()) + 50));
      const refilled = await fast.client.get('/v1/scripts');
      expect(refilled.status).toBe(200);
      expect(rl(refilled)).toMatchObject({ limit: '3', remaining: '2' });
    });

    it('is one bucket for all gateways: two gateway processes draw from the same tokens', async () => {
      const second = await stack.startApp('gateway');
      try {
        expect(second.url).not.toBe(stack.url);
        const { client } = await stack.tenant();
        const shared = await keyWith(client, { rateLimit: { burst: 10, refillPerSecond: 0.01 } });
        const viaFirst = shared.client;
        const viaSecond = new ApiClient(second.url, shared.key);
        const seen: string[] = [];
        for (let i = 0; i < 10; i++) {
          const res = await (i % 2 === 0 ? viaFirst : viaSecond).get('/v1/scripts');
          expect(res.status).toBe(200);
          seen.push(`${i % 2 === 0 ? 'g1' : 'g2'}:${rl(res).remaining}`);
        }
        expect(seen).toEqual(['g1:9', 'g2:8', 'g1:7', 'g2:6', 'g1:5', 'g2:4', 'g1:3', 'g2:2', 'g1:1', 'g2:0']);
        expect((await viaSecond.get('/v1/scripts')).status).toBe(429);
        expect((await viaFirst.get('/v1/scripts')).status).toBe(429);
      } finally {
        await second.stop();
      }
    });
  });

  describe('agents surface (/api/v1/public): its own bucket and monthly default', () => {
    it('draws from a burst 10 / 1 per s bucket of its own, answering the same 429 body', async () => {
      const { client } = await stack.tenant();
      const agentsKey = await keyWith(client, {});
      const statusUrl = '/api/v1/public/executions/0198c1b2-0000-7000-8000-000000000000/status';
      const started = Date.now();
      const first = await agentsKey.client.get(statusUrl);
      expect(first.status).toBe(404);
      expect(rl(first)).toMatchObject({ limit: '10', remaining: '9' });
      // Drive the bucket until it refuses: 10 tokens, plus at most one per second that passed meanwhile.
      let passed = 1;
      let refused = await agentsKey.client.get(statusUrl);
      while (refused.status !== 429 && passed < 100) {
        expect(rl(refused).limit).toBe('10');
        passed++;
        refused = await agentsKey.client.get(statusUrl);
      }
      expect(refused.status).toBe(429);
      expect(passed).toBeGreaterThanOrEqual(10);
      expect(passed).toBeLessThanOrEqual(10 + Math.ceil((Date.now() - started) / 1000));
      expect(refused.body).toEqual({ statusCode: 429, message: 'Rate limit exceeded', error: 'Too Many Requests', retryAfter: 1 });
      expect(refused.headers.get('retry-after')).toBe('1');
      // The native API's bucket of the same key is untouched.
      const native = await agentsKey.client.get('/v1/scripts');
      expect(native.status).toBe(200);
      expect(rl(native)).toMatchObject({ limit: '100', remaining: '99' });
    });

    it('limits keys without a monthly limit to 1000 runs there, and only there', async () => {
      const { client } = await stack.tenant();
      const scriptId = await createScript(client, 'module.exports = () => 1;');
      const unlimited = await keyWith(client, {});
      const month = new Date().toISOString().slice(0, 7);
      // 1000 runs this month already (set directly rather than run 1000 times).
      const redis = new Redis(stack.redis.url);
      try {
        await redis.set(`${stack.redis.prefix}:quota:key:${unlimited.id}:${month}`, '1000', 'PX', 3_600_000);
      } finally {
        redis.disconnect();
      }
      const refused = await unlimited.client.post(`/api/v1/public/agents/${scriptId}/execute`, { input: {} });
      expect(refused.status).toBe(403);
      expect(refused.body).toEqual({ message: 'API key usage limit exceeded', error: 'Forbidden', statusCode: 403 });
      const native = await unlimited.client.post(`/v1/scripts/${scriptId}/runs`, {});
      expect(native.status).toBe(202);
      expect((await client.get(`/v1/api-keys/${unlimited.id}`)).body.usage).toEqual({ month, executions: 1001, limit: null });
    });
  });

  describe('key lifecycle and monthly quota', () => {
    it('refuses past the monthly limit with 403, counts accepted runs only, shows usage, survives Redis losing the counter', async () => {
      const { client } = await stack.tenant();
      const scriptId = await createScript(client, 'module.exports = () => 1;');
      const limited = await keyWith(client, { monthlyExecutionLimit: 3 });
      const run = (body: Record<string, unknown> = {}) => limited.client.post(`/v1/scripts/${scriptId}/runs`, body);

      const first = await run({ idempotencyKey: 'same-run' });
      expect(first.status).toBe(202);
      // A replay of the same idempotency key is not a new run: not counted.
      const replay = await run({ idempotencyKey: 'same-run' });
      expect(replay.status).toBe(202);
      expect(replay.body.executionId).toBe(first.body.executionId);
      expect((await run()).status).toBe(202);
      expect((await limited.client.post('/v1/runs', { source: 'results.ok = true' })).status).toBe(202);

      const refused = await run();
      expect(refused.status).toBe(403);
      expect(refused.body.error).toMatchObject({ code: 'USAGE_LIMIT_EXCEEDED', message: 'API key usage limit exceeded', statusCode: 403 });
      const month = new Date().toISOString().slice(0, 7);
      expect(refused.body.error.details).toMatchObject({ limit: 3, used: 3, month });
      // Reads still work: only runs are refused.
      expect((await limited.client.get('/v1/scripts')).status).toBe(200);

      const view = await client.get(`/v1/api-keys/${limited.id}`);
      expect(view.body.usage).toEqual({ month, executions: 3, limit: 3 });
      const executions = await client.get('/v1/executions');
      expect(executions.body.total).toBe(3);

      // Redis keeps nothing on disk: a lost counter is rebuilt from PostgreSQL, not reset to zero.
      const redis = new Redis(stack.redis.url);
      try {
        expect(await redis.del(`${stack.redis.prefix}:quota:key:${limited.id}:${month}`)).toBe(1);
      } finally {
        redis.disconnect();
      }
      expect((await run()).status).toBe(403);
      expect((await client.get(`/v1/api-keys/${limited.id}`)).body.usage).toEqual({ month, executions: 3, limit: 3 });

      // Raising the limit applies at once; removing it makes the key unlimited (still counted).
      expect((await client.patch(`/v1/api-keys/${limited.id}`, { monthlyExecutionLimit: 4 })).status).toBe(200);
      expect((await run()).status).toBe(202);
      expect((await run()).status).toBe(403);
      await client.patch(`/v1/api-keys/${limited.id}`, { monthlyExecutionLimit: null });
      expect((await run()).status).toBe(202);
      expect((await client.get(`/v1/api-keys/${limited.id}`)).body.usage).toEqual({ month, executions: 5, limit: null });
    });

    it('answers 403 with the reason for inactive and expired keys, 401 for revoked and unknown ones', async () => {
      const { client } = await stack.tenant();
      const inactive = await keyWith(client, { active: false });
      const off = await inactive.client.get('/v1/scripts');
      expect(off.status).toBe(403);
      expect(off.body.error).toMatchObject({ code: 'API_KEY_INACTIVE', message: 'API key is inactive' });
      const expiring = await keyWith(client, { expiresAt: new Date(Date.now() + 60_000).toISOString() });
      expect((await expiring.client.get('/v1/scripts')).status).toBe(200);
      await client.patch(`/v1/api-keys/${expiring.id}`, { expiresAt: new Date(Date.now() - 1000).toISOString() });
      const expired = await expiring.client.get('/v1/scripts');
      expect(expired.status).toBe(403);
      expect(expired.body.error.code).toBe('API_KEY_EXPIRED');
      expect(expired.body.error.message).toMatch(/^API key expired at /);
      const revoked = await keyWith(client, {});
      expect((await client.delete(`/v1/api-keys/${revoked.id}`)).status).toBe(204);
      const gone = await revoked.client.get('/v1/scripts');
      expect(gone.status).toBe(401);
      expect(gone.headers.get('x-ratelimit-limit')).toBeNull();
      expect((await client.withKey(`ak_${'0'.repeat(64)}`).get('/v1/scripts')).status).toBe(401);
    });
  });

  describe('tenant hourly and daily caps', () => {
    it('answers 429 RATE_LIMITED past a cap set with PATCH /v1/tenants/:id (admin only)', async () => {
      const tenant = await stack.tenant();
      const { client } = tenant;
      expect((await client.patch(`/v1/tenants/${tenant.id}`, { hourlyExecutionLimit: 1 })).status).toBe(403);
      expect((await admin.patch('/v1/tenants/0198c1b2-0000-7000-8000-000000000000', { hourlyExecutionLimit: 1 })).status).toBe(404);
      const bad = await admin.patch(`/v1/tenants/${tenant.id}`, { hourlyExecutionLimit: 0, slug: 'x' });
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('VALIDATION_ERROR');

      const capped = await admin.patch(`/v1/tenants/${tenant.id}`, { hourlyExecutionLimit: 2 });
      expect(capped.status).toBe(200);
      expect(capped.body).toMatchObject({ id: tenant.id, hourlyExecutionLimit: 2, dailyExecutionLimit: null, concurrencyLimit: null });
      expect((await client.post('/v1/runs', { source: 'results.n = 1' })).status).toBe(202);
      expect((await client.post('/v1/runs', { source: 'results.n = 2' })).status).toBe(202);
      const refused = await client.post('/v1/runs', { source: 'results.n = 3' });
      expect(refused.status).toBe(429);
      expect(refused.body.error).toMatchObject({ code: 'RATE_LIMITED', statusCode: 429, details: { limit: 2, used: 2, window: 'hour' } });
      expect(refused.body.error.message).toContain('KILN_TENANT_HOURLY_EXECUTIONS');
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(3600);
      expect(refused.body.error.details.retryAfter).toBe(retryAfter);
      // The token bucket was fine: its headers are there, and it is not the bucket's 429 body.
      expect(rl(refused).limit).toBe('100');

      // Daily cap instead: the two runs of today count (rebuilt from PostgreSQL for the new counter).
      const daily = await admin.patch(`/v1/tenants/${tenant.id}`, { hourlyExecutionLimit: null, dailyExecutionLimit: 3 });
      expect(daily.body).toMatchObject({ hourlyExecutionLimit: null, dailyExecutionLimit: 3 });
      expect((await client.post('/v1/runs', { source: 'results.n = 4' })).status).toBe(202);
      const dailyRefused = await client.post('/v1/runs', { source: 'results.n = 5' });
      expect(dailyRefused.status).toBe(429);
      expect(dailyRefused.body.error.message).toContain('KILN_TENANT_DAILY_EXECUTIONS');
      expect(dailyRefused.body.error.details).toMatchObject({ window: 'day', limit: 3, used: 3 });
      expect((await client.get('/v1/executions')).body.total).toBe(3);
    });
  });

  describe('request size limits', () => {
    it('answers 413 naming the limit and its variable for an oversized body, script source and ad-hoc source', async () => {
      const { client } = await stack.tenant();
      const body = await client.request('POST', '/v1/runs', {
        rawBody: JSON.stringify({ source: `results.x = "${'x'.repeat(1024 * 1024)}"` }),
        headers: { 'content-type': 'application/json' },
      });
      expect(body.status).toBe(413);
      expect(body.body.error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', details: { limitBytes: 1024 * 1024 } });
      expect(body.body.error.message).toContain('KILN_BODY_LIMIT_BYTES');

      const source = `// ${'x'.repeat(300 * 1024)}\nmodule.exports = () => 1;`;
      const script = await client.post('/v1/scripts', { name: 'too-big', source });
      expect(script.status).toBe(413);
      expect(script.body.error).toMatchObject({ code: 'SOURCE_TOO_LARGE', details: { field: 'source', limitBytes: 256 * 1024 } });
      expect(script.body.error.message).toContain('KILN_SCRIPT_SOURCE_MAX_BYTES');
      const adhoc = await client.post('/v1/runs', { source });
      expect(adhoc.status).toBe(413);
      expect(adhoc.body.error.message).toContain('KILN_SCRIPT_SOURCE_MAX_BYTES');
      expect((await client.get('/v1/executions')).body.total).toBe(0);
    });
  });

  describe('per-tenant concurrency', () => {
    it('never runs more than 5 of a tenant at once; the rest wait pending and all complete', async () => {
      const { client } = await stack.tenant();
      const scriptId = await createScript(client, 'module.exports = async () => { await new Promise((r) => setTimeout(r, 1500)); return "done"; };');
      // Sent at once, so most of them arrive in batch jobs: a batch's runs wait for the tenant's slots like any other.
      const accepted = await Promise.all(Array.from({ length: 12 }, () => client.post(`/v1/scripts/${scriptId}/runs`, {})));
      expect(accepted.map((res) => res.status)).toEqual(accepted.map(() => 202));
      const ids = accepted.map((res) => res.body.executionId as string);
      let maxRunning = 0;
      let sawPendingWhileFull = false;
      const samples: number[] = [];
      await eventually(
        async () => {
          const [running, pending, completed] = await Promise.all(
            ['running', 'pending', 'completed'].map((status) => client.get(`/v1/executions?status=${status}&limit=1`).then((r) => r.body.total as number)),
          );
          samples.push(running as number);
          maxRunning = Math.max(maxRunning, running as number);
          if ((running as number) >= 5 && (pending as number) > 0) sawPendingWhileFull = true;
          return completed === 12 ? true : undefined;
        },
        { timeoutMs: 40_000, intervalMs: 100, what: 'all 12 runs to complete' },
      );
      expect(maxRunning).toBeLessThanOrEqual(5);
      // The worker could run 8 at once (sandbox capacity): the limit is what held it at 5.
      expect(maxRunning).toBe(5);
      expect(sawPendingWhileFull).toBe(true);
      const views = await Promise.all(ids.map((id) => client.get(`/v1/executions/${id}`)));
      // Waiting for a slot is not an attempt.
      expect(views.map((v) => [v.body.status, v.body.attempts])).toEqual(ids.map(() => ['completed', 1]));
    });

    it("starts another tenant's run promptly while one tenant has 200 queued ahead of it (fairness)", async () => {
      // Worst case: the worker is down while A queues 200 runs and B one run behind them all.
      await stack.app('worker').stop();
      const a = await stack.tenant();
      const bulk = await keyWith(a.client, { rateLimit: { burst: 10_000, refillPerSecond: 10_000 } });
      const slowId = await createScript(a.client, 'module.exports = async () => { await new Promise((r) => setTimeout(r, 1000)); return 1; };');
      for (let batch = 0; batch < 8; batch++) {
        const accepted = await Promise.all(Array.from({ length: 25 }, () => bulk.client.post(`/v1/scripts/${slowId}/runs`, {})));
        expect(accepted.map((r) => r.status)).toEqual(accepted.map(() => 202));
      }
      const b = await stack.tenant();
      const quickId = await createScript(b.client, 'module.exports = () => "b ran";');
      const queued = await b.client.post(`/v1/scripts/${quickId}/runs`, {});
      expect(queued.status).toBe(202);
      expect((await bulk.client.get('/v1/executions?status=pending&limit=1')).body.total).toBe(200);

      await stack.startApp('worker');
      const workerReadyAt = Date.now();
      const done = await eventually(
        async () => {
          const res = await b.client.get(`/v1/executions/${queued.body.executionId}`);
          return res.body.status === 'completed' ? res.body : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 50, what: "tenant B's run to complete" },
      );
      expect(done.output).toBe('b ran');
      // Started within a couple of seconds of the worker coming up, not after A's 40 s of backlog (200 × 1 s / 5).
      const startedAfterMs = new Date(done.startedAt).getTime() - workerReadyAt;
      expect(startedAfterMs).toBeLessThan(3000);
      // A's backlog was still there, and A still ran at its limit, not beyond.
      expect((await bulk.client.get('/v1/executions?status=pending&limit=1')).body.total).toBeGreaterThan(150);
      expect((await bulk.client.get('/v1/executions?status=running&limit=1')).body.total).toBeLessThanOrEqual(5);
      // Waiting was not failing: none of A's runs failed or used up an attempt.
      expect((await bulk.client.get('/v1/executions?status=failed&limit=1')).body.total).toBe(0);
    });
  });
});

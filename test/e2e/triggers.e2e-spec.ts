import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { ApiClient, eventually, KilnStack } from '@kiln/testing';
import { createScript, executionsOf, pollExecution, runScript } from './sdk-fixtures';

// Cron, HTTP endpoints, events and approvals across real processes.

describe('triggers end to end', () => {
  describe('cron on a cluster of two gateways and two workers', () => {
    let stack: KilnStack;
    let api: ApiClient;
    let second: ApiClient;
    let redis: Redis;
    let queue: Queue;

    beforeAll(async () => {
      stack = await KilnStack.start({ apps: ['gateway', 'gateway', 'worker', 'worker'] });
      const tenant = await stack.tenant();
      api = tenant.client;
      const gateways = stack.processes.filter((p) => p.name === 'gateway');
      second = new ApiClient(gateways[1]?.url ?? '', tenant.key);
      redis = new Redis(stack.redis.url, { maxRetriesPerRequest: null });
      queue = new Queue('executions', { connection: redis, prefix: stack.redis.prefix });
    });
    afterAll(async () => {
      await queue?.close();
      redis?.disconnect();
      await stack?.stop();
    });

    const cronRuns = async (scriptId: string, cron?: string) =>
      (await executionsOf(api, scriptId)).filter((e) => e.trigger.type === 'cron' && (cron === undefined || e.trigger.cronExpression === cron));

    it('fires once per tick across the cluster, follows a schedule change, and stops when paused', async () => {
      const everySecond = '* * * * * *';
      const script = await createScript(api, {
        source: 'module.exports = ({ context }) => ({ trigger: context.trigger.type, cron: context.trigger.cronExpression });',
        triggers: { cron: everySecond },
      });
      // The other gateway writes the script too: both sync the same scheduler id.
      expect((await second.patch(`/v1/scripts/${script.id}`, { description: 'synced by the second gateway' })).status).toBe(200);
      expect(await queue.getJobScheduler(`cron:${script.id}`)).toMatchObject({ pattern: everySecond });

      const ticks = await eventually(
        async () => {
          const runs = await cronRuns(script.id, everySecond);
          return runs.length >= 5 ? runs : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 250, what: '5 cron executions' },
      );
      const due = ticks.map((e) => new Date(e.trigger.scheduledFor).getTime());
      // Never two executions for one tick, and ticks on whole seconds.
      expect(new Set(due).size).toBe(due.length);
      for (const t of due) expect(t % 1000).toBe(0);
      const done = await Promise.all(ticks.map((e) => pollExecution(api, e.id, (x) => x.status === 'completed')));
      expect(done.map((e) => e.output)).toEqual(done.map(() => ({ trigger: 'cron', cron: everySecond })));
      const lateness = done.map((e) => new Date(e.startedAt).getTime() - new Date(e.trigger.scheduledFor).getTime());
      process.stdout.write(`cron tick → execution started: ${lateness.map((ms) => `${ms} ms`).join(', ')}\n`);
      for (const ms of lateness) {
        expect(ms).toBeGreaterThanOrEqual(0);
        expect(ms).toBeLessThan(5_000);
      }

      const everyTwo = '*/2 * * * * *';
      expect((await api.patch(`/v1/scripts/${script.id}`, { triggers: { cron: everyTwo } })).status).toBe(200);
      expect(await queue.getJobScheduler(`cron:${script.id}`)).toMatchObject({ pattern: everyTwo });
      const changed = await eventually(
        async () => {
          const runs = await cronRuns(script.id, everyTwo);
          return runs.length >= 2 ? runs : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 250, what: 'executions on the new schedule' },
      );
      for (const e of changed) expect(new Date(e.trigger.scheduledFor).getTime() % 2000).toBe(0);
      // Once the new schedule runs, the old one never fires again.
      const firstNew = Math.min(...changed.map((e) => new Date(e.createdAt).getTime()));
      const oldAfter = (await cronRuns(script.id, everySecond)).filter((e) => new Date(e.createdAt).getTime() > firstNew);
      expect(oldAfter).toEqual([]);

      expect((await second.patch(`/v1/scripts/${script.id}`, { status: 'paused' })).status).toBe(200);
      expect(await queue.getJobScheduler(`cron:${script.id}`)).toBeUndefined();
      const countAtPause = (await cronRuns(script.id)).length;
      // Absence takes a wait: three periods of the last schedule, plus a tick that was already queued.
      await new Promise((resolve) => setTimeout(resolve, 6_000));
      expect((await cronRuns(script.id)).length).toBeLessThanOrEqual(countAtPause + 1);
      const settled = (await cronRuns(script.id)).length;
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      expect((await cronRuns(script.id)).length).toBe(settled);
    }, 60_000);

    it('keeps the timezone on the scheduler and removes it with the script', async () => {
      const script = await createScript(api, { source: 'module.exports = () => 1;', triggers: { cron: '0 9 * * 1-5', timezone: 'Europe/Paris' } });
      expect(await queue.getJobScheduler(`cron:${script.id}`)).toMatchObject({ pattern: '0 9 * * 1-5', tz: 'Europe/Paris' });
      const draft = await createScript(api, { source: 'module.exports = () => 1;', status: 'draft', triggers: { cron: '* * * * *' } });
      expect(await queue.getJobScheduler(`cron:${draft.id}`)).toBeUndefined();
      expect((await api.delete(`/v1/scripts/${script.id}`)).status).toBe(204);
      expect(await queue.getJobScheduler(`cron:${script.id}`)).toBeUndefined();
      const bad = await api.post('/v1/scripts', { name: 'bad-cron', source: 'module.exports = () => 1;', triggers: { cron: '61 * * * *' } });
      expect(bad.status).toBe(400);
    });
  });

  describe('HTTP endpoints, events and approvals', () => {
    let stack: KilnStack;
    let tenant: { id: string; slug: string; client: ApiClient; key: string };
    let api: ApiClient;

    beforeAll(async () => {
      stack = await KilnStack.start({ apps: ['gateway', 'worker'], env: { KILN_WORKER_CONCURRENCY: '8', KILN_SANDBOX_PROCESSES: '2' } });
      tenant = await stack.tenant();
      api = tenant.client;
    });
    afterAll(() => stack?.stop());

    const call = async (method: string, path: string, options: { body?: string; headers?: Record<string, string>; base?: string } = {}) => {
      const response = await fetch(`${options.base ?? stack.url}/x/${tenant.slug}/${path}`, { method, headers: options.headers, body: options.body });
      const text = await response.text();
      let json: any;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: response.status, headers: response.headers, text, json };
    };

    describe('HTTP endpoints', () => {
      beforeAll(async () => {
        await createScript(api, {
          source: `module.exports = ({ context, input, eventData }) => ({
            status: 201,
            headers: { 'X-Handled-By': 'kiln', 'Cache-Control': 'no-store', Connection: 'close' },
            body: { request: context.trigger.httpRequest, type: context.trigger.type, input, eventData },
          });`,
          triggers: { http: { path: '/orders/new', methods: ['POST', 'PUT', 'GET'] } },
        });
      });

      it('runs the bound script with {method, path, headers, query, body} and answers with its response', async () => {
        const res = await call('POST', 'orders/new?a=1&tag=x&tag=y', {
          body: JSON.stringify({ sku: 'A-1', qty: 2 }),
          headers: { 'content-type': 'application/json', 'x-client': 'e2e', cookie: 'session=secret', authorization: 'Bearer not-for-scripts' },
        });
        expect(res.status).toBe(201);
        expect(res.headers.get('x-handled-by')).toBe('kiln');
        expect(res.headers.get('cache-control')).toBe('no-store');
        expect(res.headers.get('x-kiln-execution-id')).toMatch(/^[0-9a-f-]{36}$/);
        expect(res.headers.get('content-type')).toMatch(/^application\/json/);
        expect(res.json.type).toBe('http');
        expect(res.json.request).toMatchObject({ method: 'POST', path: '/orders/new', query: { a: '1', tag: ['x', 'y'] }, body: { sku: 'A-1', qty: 2 } });
        expect(res.json.request.headers['x-client']).toBe('e2e');
        expect(res.json.request.headers.cookie).toBeUndefined();
        expect(res.json.request.headers.authorization).toBeUndefined();
        expect(res.json.input).toEqual({ sku: 'A-1', qty: 2 });
        expect(res.json.eventData).toEqual({ query: { a: '1', tag: ['x', 'y'] }, body: { sku: 'A-1', qty: 2 } });
        expect(res.headers.get('connection')).not.toBe('close');
        const execution = await api.get(`/v1/executions/${res.headers.get('x-kiln-execution-id')}`);
        expect(execution.body).toMatchObject({ status: 'completed', trigger: { type: 'http', httpRequest: { method: 'POST', path: '/orders/new' } } });
      });

      it.each([
        ['text/plain', 'hello there', 'hello there'],
        ['application/x-www-form-urlencoded', 'a=1&b=two&b=2', { a: '1', b: ['two', '2'] }],
        ['application/xml', '<order id="1"/>', '<order id="1"/>'],
        ['application/octet-stream', 'raw-bytes', 'raw-bytes'],
        ['application/vnd.api+json', '{"data":1}', { data: 1 }],
      ])('accepts %s bodies', async (contentType, body, seen) => {
        const res = await call('PUT', 'orders/new', { body, headers: { 'content-type': contentType } });
        expect(res.status).toBe(201);
        expect(res.json.request.body).toEqual(seen);
        expect(res.json.request.headers['content-type']).toBe(contentType);
      });

      it('matches paths stored with or without slashes, GET without a body, and HEAD through GET', async () => {
        const get = await call('GET', 'orders/new/');
        expect(get.status).toBe(201);
        expect(get.json.request).toMatchObject({ method: 'GET', path: '/orders/new', body: null });
        const head = await call('HEAD', 'orders/new');
        expect(head.status).toBe(201);
        expect(head.text).toBe('');
      });

      it('answers a plain JSON value with 200, and a string body as text', async () => {
        await createScript(api, { source: 'module.exports = () => [1, { two: 2 }];', triggers: { http: { path: 'plain/json', methods: ['GET'] } } });
        await createScript(api, { source: "module.exports = () => ({ body: 'pong' });", triggers: { http: { path: 'plain/text', methods: ['GET'] } } });
        await createScript(api, { source: "module.exports = () => ({ status: 204 });", triggers: { http: { path: 'plain/empty', methods: ['DELETE'] } } });
        const json = await call('GET', 'plain/json');
        expect(json.status).toBe(200);
        expect(json.headers.get('content-type')).toMatch(/^application\/json/);
        expect(json.json).toEqual([1, { two: 2 }]);
        const text = await call('GET', 'plain/text');
        expect(text.status).toBe(200);
        expect(text.headers.get('content-type')).toMatch(/^text\/plain/);
        expect(text.text).toBe('pong');
        const empty = await call('DELETE', 'plain/empty');
        expect(empty.status).toBe(204);
        expect(empty.text).toBe('');
      });

      it('answers 404 for unknown tenants, paths and methods, and 409 for a duplicate route', async () => {
        expect((await call('GET', 'no/such/path')).status).toBe(404);
        expect((await call('DELETE', 'orders/new')).status).toBe(404);
        const unknownTenant = await fetch(`${stack.url}/x/no-such-tenant-slug/orders/new`);
        expect(unknownTenant.status).toBe(404);
        expect(await unknownTenant.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
        const duplicate = await api.post('/v1/scripts', { name: 'dup-route', source: 'module.exports = () => 1;', triggers: { http: { path: 'orders/new/', methods: ['GET'] } } });
        expect(duplicate.status).toBe(409);
        expect(duplicate.body.error).toMatchObject({ code: 'HTTP_ROUTE_TAKEN', details: { path: 'orders/new', method: 'GET' } });
      });

      it('answers 502 with an error body when the script throws or answers nonsense, 504 when it times out', async () => {
        await createScript(api, { source: "module.exports = () => { throw new Error('inventory service down'); };", triggers: { http: { path: 'fail/throw', methods: ['POST'] } } });
        await createScript(api, { source: 'module.exports = () => ({ status: 700, body: "x" });', triggers: { http: { path: 'fail/status', methods: ['GET'] } } });
        await createScript(api, { source: "module.exports = () => ({ headers: { 'X-Bad': 'a\\r\\nInjected: 1' }, body: 'x' });", triggers: { http: { path: 'fail/header', methods: ['GET'] } } });
        await createScript(api, { source: 'while (true) {}', timeoutMs: 500, triggers: { http: { path: 'fail/slow', methods: ['GET'] } } });
        const thrown = await call('POST', 'fail/throw', { body: '{}', headers: { 'content-type': 'application/json' } });
        expect(thrown.status).toBe(502);
        expect(thrown.json.error).toMatchObject({ code: 'EXECUTION_ERROR', message: expect.stringContaining('inventory service down'), statusCode: 502 });
        expect(thrown.json.error.details.executionId).toEqual(thrown.headers.get('x-kiln-execution-id'));
        expect(thrown.text).not.toContain('script.js:');
        const status = await call('GET', 'fail/status');
        expect(status.status).toBe(502);
        expect(status.json.error).toMatchObject({ code: 'INVALID_RESPONSE', message: expect.stringContaining('status must be an integer from 100 to 599') });
        const header = await call('GET', 'fail/header');
        expect(header.status).toBe(502);
        expect(header.headers.get('injected')).toBeNull();
        const started = Date.now();
        const slow = await call('GET', 'fail/slow');
        expect(slow.status).toBe(504);
        expect(slow.json.error).toMatchObject({ code: 'TIMEOUT' });
        expect(Date.now() - started).toBeLessThan(8_000);
      });

      it('is public by default; a script can require an API key of its tenant', async () => {
        await createScript(api, {
          source: 'module.exports = ({ context }) => ({ user: context.userId, query: context.trigger.httpRequest.query });',
          triggers: { http: { path: 'private', methods: ['GET'], requireApiKey: true } },
        });
        expect((await call('GET', 'private')).status).toBe(401);
        const other = await stack.tenant();
        const foreign = await call('GET', 'private', { headers: { authorization: `Bearer ${other.key}` } });
        expect(foreign.status).toBe(401);
        expect(foreign.json.error.message).toContain(`tenant '${tenant.slug}'`);
        const bearer = await call('GET', 'private?x=1', { headers: { authorization: `Bearer ${tenant.key}` } });
        expect(bearer.status).toBe(200);
        expect(bearer.json.user).toEqual(expect.any(String));
        const viaQuery = await call('GET', `private?x=1&apiKey=${tenant.key}`);
        expect(viaQuery.status).toBe(200);
        expect(viaQuery.json.query).toEqual({ x: '1' });
        // A key-protected endpoint spends the key's rate-limit tokens like an API call.
        expect(bearer.headers.get('x-ratelimit-limit')).toEqual(expect.any(String));
        expect(Number(viaQuery.headers.get('x-ratelimit-remaining'))).toBeLessThan(Number(viaQuery.headers.get('x-ratelimit-limit')));
      });

      it('answers 409 for a paused script, and follows route changes at once', async () => {
        const script = await createScript(api, { source: 'module.exports = () => "v1";', triggers: { http: { path: 'moving/a', methods: ['GET'] } } });
        expect((await call('GET', 'moving/a')).json).toBe('v1');
        expect((await api.patch(`/v1/scripts/${script.id}`, { source: 'module.exports = () => "v2";', triggers: { http: { path: 'moving/b', methods: ['GET'] } } })).status).toBe(200);
        expect((await call('GET', 'moving/a')).status).toBe(404);
        expect((await call('GET', 'moving/b')).json).toBe('v2');
        expect((await api.patch(`/v1/scripts/${script.id}`, { status: 'paused' })).status).toBe(200);
        const paused = await call('GET', 'moving/b');
        expect(paused.status).toBe(409);
        expect(paused.json.error.code).toBe('SCRIPT_INACTIVE');
      });

      it('keeps answering 415 for unknown content types outside /x/', async () => {
        const res = await api.request('POST', '/v1/runs', { rawBody: '<x/>', headers: { 'content-type': 'application/xml' } });
        expect(res.status).toBe(415);
        expect(res.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
      });
    });

    describe('events', () => {
      it('POST /v1/events starts every active subscriber of the tenant with the type and payload', async () => {
        const source = 'module.exports = ({ context, input }) => ({ type: context.trigger.type, eventType: context.trigger.eventType, payload: context.trigger.eventPayload, input });';
        const a = await createScript(api, { source, triggers: { events: ['order.created', 'order.paid'] } });
        const b = await createScript(api, { source, triggers: { events: ['order.created'] } });
        const paused = await createScript(api, { source, status: 'paused', triggers: { events: ['order.created'] } });
        const unrelated = await createScript(api, { source, triggers: { events: ['order.cancelled'] } });
        const other = await stack.tenant();
        const foreign = await createScript(other.client, { source, triggers: { events: ['order.created'] } });

        const res = await api.post('/v1/events', { type: 'order.created', payload: { orderId: 'o-1', total: 12.5 } });
        expect(res.status).toBe(202);
        expect(res.body).toMatchObject({ eventId: expect.any(String), type: 'order.created', matched: 2 });
        expect(res.body.scripts.map((s: { id: string }) => s.id).sort()).toEqual([a.id, b.id].sort());

        for (const script of [a, b]) {
          const [execution] = await eventually(async () => {
            const list = await executionsOf(api, script.id);
            return list.length > 0 ? list : undefined;
          });
          const done = await pollExecution(api, execution.id, (e) => e.status === 'completed');
          expect(done.output).toEqual({ type: 'event', eventType: 'order.created', payload: { orderId: 'o-1', total: 12.5 }, input: { orderId: 'o-1', total: 12.5 } });
          expect(done.trigger).toMatchObject({ type: 'event', eventId: res.body.eventId, depth: 0 });
        }
        // A run that ends after the two subscribers proves the others had their chance.
        await runScript(api, a.id);
        for (const script of [paused, unrelated]) expect(await executionsOf(api, script.id)).toEqual([]);
        expect(await executionsOf(other.client, foreign.id)).toEqual([]);

        const none = await api.post('/v1/events', { type: 'nobody.listens' });
        expect(none.status).toBe(202);
        expect(none.body).toMatchObject({ matched: 0, scripts: [] });
        expect((await api.post('/v1/events', { type: 'bad type!' })).status).toBe(400);
      });

      it('refuses event chains deeper than 8 with a clear error', async () => {
        const looper = await createScript(api, {
          source: "module.exports = async ({ events, input }) => { await events.publish('chain.loop', { hop: (input && input.hop || 0) + 1 }); return 'published'; };",
          triggers: { events: ['chain.loop'] },
        });
        expect((await api.post('/v1/events', { type: 'chain.loop', payload: { hop: 0 } })).status).toBe(202);
        const chain = await eventually(
          async () => {
            const list = await executionsOf(api, looper.id);
            return list.some((e) => e.status === 'failed') ? list : undefined;
          },
          { timeoutMs: 30_000, intervalMs: 200, what: 'the chain to hit its depth limit' },
        );
        expect(chain.map((e) => e.trigger.depth)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
        const last = await pollExecution(api, chain[8].id, (e) => e.status === 'failed');
        expect(last.error).toMatchObject({
          code: 'EXECUTION_ERROR',
          message: expect.stringContaining('event chain would be 9 levels deep, over the limit of 8 (KILN_EVENT_MAX_DEPTH)'),
        });
        expect(last.input).toEqual({ hop: 8 });
        for (const e of chain.slice(0, 8)) expect((await pollExecution(api, e.id, (x) => x.status !== 'running' && x.status !== 'pending')).status).toBe('completed');
      });
    });

    describe('approvals', () => {
      const source = `
        module.exports = async ({ input, approval, sdk }) => {
          sdk.log.info('asking for approval', { rows: input.rows.length });
          await approval.request({ rows: input.rows, metadata: { reason: 'large order' }, displayFields: ['id', 'amount'] });
          return 'never reached';
        };
        module.exports.onApproved = async ({ approvalData, comment, input, context, sdk }) => {
          sdk.log.info('approved', { comment });
          return { approvedRows: approvalData.rows.length, metadata: approvalData.metadata, comment, input, executionId: context.executionId };
        };
      `;

      it('parks in pending_approval, survives a restart of every app, and approve runs onApproved', async () => {
        const script = await createScript(api, { source });
        const input = { rows: [{ id: 1, amount: 10 }, { id: 2, amount: 20 }] };
        const parked = await runScript(api, script.id, { input });
        expect(parked).toMatchObject({
          status: 'pending_approval',
          approval: { rows: input.rows, metadata: { reason: 'large order' }, displayFields: ['id', 'amount'] },
          finishedAt: null,
        });

        await Promise.all(stack.processes.map((p) => p.stop('SIGTERM', 10_000)));
        await stack.startApp('gateway');
        await stack.startApp('worker');
        const fresh = new ApiClient(stack.url, tenant.key);

        expect((await fresh.get(`/v1/executions/${parked.id}`)).body.status).toBe('pending_approval');
        const approved = await fresh.post(`/v1/executions/${parked.id}/approve`, { comment: 'ok by finance' });
        expect(approved.status).toBe(200);
        const done = await pollExecution(fresh, parked.id, (e) => e.status === 'completed');
        expect(done).toMatchObject({
          approvalStatus: 'approved',
          approvalComment: 'ok by finance',
          output: { approvedRows: 2, metadata: { reason: 'large order' }, comment: 'ok by finance', input, executionId: parked.id },
        });
        // The continuation's logs follow those of the run that asked.
        expect(done.logs.map((l: { message: string; meta?: unknown }) => [l.message, l.meta])).toEqual([
          ['asking for approval', { rows: 2 }],
          ['approved', { comment: 'ok by finance' }],
        ]);
        const again = await fresh.post(`/v1/executions/${parked.id}/approve`, {});
        expect(again.status).toBe(409);
        expect(again.body.error.code).toBe('NOT_PENDING_APPROVAL');
        api = fresh;
      });

      it('reject ends it cancelled with the comment; approve and reject answer 409 when not pending', async () => {
        const script = await createScript(api, { source });
        const parked = await runScript(api, script.id, { input: { rows: [{ id: 3, amount: 1 }] } });
        expect(parked.status).toBe('pending_approval');
        const rejected = await api.post(`/v1/executions/${parked.id}/reject`, { comment: 'not this month' });
        expect(rejected.status).toBe(200);
        expect(rejected.body).toMatchObject({ status: 'cancelled', approvalStatus: 'rejected', approvalComment: 'not this month' });
        expect((await api.post(`/v1/executions/${parked.id}/approve`, {})).status).toBe(409);
        expect((await api.post(`/v1/executions/${parked.id}/reject`, {})).status).toBe(409);
        const finished = await runScript(api, (await createScript(api, { source: 'module.exports = () => 1;' })).id);
        expect((await api.post(`/v1/executions/${finished.id}/approve`, {})).status).toBe(409);
      });
    });
  });
});

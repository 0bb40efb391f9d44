import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { type ApiClient, eventually, KilnStack } from '@kiln/testing';
import { createScript, echo, executionsOf, pollExecution, runAdhoc, runScript, startTarget, type Target } from './sdk-fixtures';

// Every global of the script SDK through the API, with a real worker: the
// host capabilities (fetch and sdk.http through the SSRF-guarded client,
// sdk.cache in Redis, events) are the production ones. 127.0.0.1 is opened
// only by the stack's KILN_OUTBOUND_ALLOW.
describe('script SDK end to end', () => {
  let stack: KilnStack;
  let api: ApiClient;
  let tenant: { id: string; slug: string; client: ApiClient; key: string };
  let target: Target;

  beforeAll(async () => {
    target = await startTarget((request, body, response) => {
      if (request.url === '/huge') {
        // 6 MiB, over the 5 MiB default cap.
        response.setHeader('content-type', 'text/plain');
        response.end('x'.repeat(6 * 1024 * 1024));
        return;
      }
      if (request.url === '/never') return; // holds the request open until the client gives up
      if (request.url === '/plain') {
        response.setHeader('content-type', 'text/plain');
        response.end('just text');
        return;
      }
      echo(request, body, response);
    });
    stack = await KilnStack.start({
      apps: ['gateway', 'worker'],
      // A short default deadline keeps the timeout case quick; it also proves the variable reaches the client.
      env: { KILN_OUTBOUND_ALLOW: '127.0.0.1', KILN_WORKER_CONCURRENCY: '4', KILN_OUTBOUND_TIMEOUT_MS: '1500' },
    });
    tenant = await stack.tenant();
    api = tenant.client;
  });
  afterAll(async () => {
    await stack?.stop();
    await target?.close();
  });

  it('hands the script its context: tenant, user, script, execution, input, env and trigger', async () => {
    const script = await createScript(api, {
      source: 'module.exports = async ({ context, input }) => ({ context, sameInput: input === context.input || JSON.stringify(input) === JSON.stringify(context.input) });',
      env: { API_TOKEN: 's3cret-token-value', REGION: 'eu' },
    });
    const keys = await api.get('/v1/api-keys');
    const keyId = (keys.body.items as { id: string; prefix: string }[]).find((k) => tenant.key.startsWith(k.prefix))?.id;
    const done = await runScript(api, script.id, { input: { n: 1 } });
    expect(done).toMatchObject({ status: 'completed' });
    expect(done.output).toEqual({
      sameInput: true,
      context: {
        tenantId: tenant.id,
        userId: keyId,
        scriptId: script.id,
        executionId: done.id,
        input: { n: 1 },
        env: { API_TOKEN: 's3cret-token-value', REGION: 'eu' },
        trigger: { type: 'api', cronExpression: null, httpRequest: null, eventType: null, eventPayload: null },
      },
    });
  });

  it('stores env encrypted at rest and never returns it in clear', async () => {
    const script = await createScript(api, { source: 'module.exports = () => 1;', env: { SECRET: 'never-shown-in-clear' } });
    for (const res of [await api.get(`/v1/scripts/${script.id}`), await api.get('/v1/scripts'), await api.patch(`/v1/scripts/${script.id}`, { description: 'x' })]) {
      expect(res.status).toBe(200);
      expect(res.text).not.toContain('never-shown-in-clear');
    }
    const db = new Client({ connectionString: stack.database.url });
    await db.connect();
    try {
      const { rows } = await db.query<{ row: string }>('SELECT row_to_json(s)::text AS row FROM scripts s WHERE id = $1', [script.id]);
      expect(rows[0]?.row).toBeDefined();
      expect(rows[0]?.row).not.toContain('never-shown-in-clear');
    } finally {
      await db.end();
    }
  });

  it('fetches through the guarded client: status, ok, headers, json(), text()', async () => {
    const done = await runAdhoc(
      api,
      `
      const r = await fetch('${target.origin}/echo?q=1', { method: 'POST', headers: { 'X-Custom': 'abc' }, body: JSON.stringify({ a: 1 }) });
      const data = await r.json();
      const t = await fetch('${target.origin}/plain');
      results.fetch = { status: r.status, ok: r.ok, header: r.headers.get('X-Target'), method: data.method, url: data.url, custom: data.headers['x-custom'], body: data.body, ua: data.headers['user-agent'] };
      results.text = await t.text();
      `,
    );
    expect(done).toMatchObject({
      status: 'completed',
      output: {
        fetch: { status: 200, ok: true, header: 'yes', method: 'POST', url: '/echo?q=1', custom: 'abc', body: '{"a":1}', ua: 'Kiln-Script/1.0' },
        text: 'just text',
      },
    });
  });

  it('serves sdk.http.get/post/put/patch/delete with JSON in and out', async () => {
    const done = await runAdhoc(
      api,
      `
      const base = '${target.origin}';
      const get = await sdk.http.get(base + '/items', { query: { page: 2 }, headers: { 'X-Trace': 't1' } });
      const post = await sdk.http.post(base + '/items', { name: 'n' });
      const put = await sdk.http.put(base + '/items/1', { name: 'm' });
      const patch = await sdk.http.patch(base + '/items/1', { done: true });
      const del = await sdk.http.delete(base + '/items/1');
      results.calls = [get, post, put, patch, del].map((r) => ({ status: r.status, method: r.body.method, url: r.body.url, body: r.body.body, type: r.body.headers['content-type'] || null }));
      results.trace = get.body.headers['x-trace'];
      `,
    );
    expect(done.status).toBe('completed');
    expect(done.output.calls).toEqual([
      { status: 200, method: 'GET', url: '/items?page=2', body: '', type: null },
      { status: 200, method: 'POST', url: '/items', body: '{"name":"n"}', type: 'application/json' },
      { status: 200, method: 'PUT', url: '/items/1', body: '{"name":"m"}', type: 'application/json' },
      { status: 200, method: 'PATCH', url: '/items/1', body: '{"done":true}', type: 'application/json' },
      { status: 200, method: 'DELETE', url: '/items/1', body: '', type: null },
    ]);
    expect(done.output.trace).toBe('t1');
  });

  it('rejects a refused destination inside the script with a clear message', async () => {
    const done = await runAdhoc(api, "try { await fetch('http://169.254.169.254/latest/meta-data/'); } catch (e) { results.error = e.message; }");
    expect(done.output.error).toMatch(/SSRF_BLOCKED.*169\.254\.169\.254 is link-local \(SSRF protection\)/);
  });

  it('caps response size (5 MiB) and time (default deadline, or the per-call timeout)', async () => {
    const done = await runAdhoc(
      api,
      `
      const attempt = async (call) => { const t0 = Date.now(); try { await call(); return ['ok', Date.now() - t0]; } catch (e) { return [e.message, Date.now() - t0]; } };
      results.huge = await attempt(() => fetch('${target.origin}/huge'));
      results.hugeHttp = await attempt(() => sdk.http.get('${target.origin}/huge'));
      results.defaultDeadline = await attempt(() => fetch('${target.origin}/never'));
      results.ownTimeout = await attempt(() => sdk.http.get('${target.origin}/never', { timeout: 300 }));
      `,
    );
    expect(done.status).toBe('completed');
    const { huge, hugeHttp, defaultDeadline, ownTimeout } = done.output;
    expect(huge[0]).toMatch(/\[RESPONSE_TOO_LARGE\]: Response body exceeds 5242880 bytes/);
    expect(hugeHttp[0]).toMatch(/\[RESPONSE_TOO_LARGE\]/);
    expect(defaultDeadline[0]).toMatch(/\[TIMEOUT\]: Request timed out after 1500 ms/);
    expect(defaultDeadline[1]).toBeGreaterThanOrEqual(1400);
    expect(defaultDeadline[1]).toBeLessThan(5000);
    expect(ownTimeout[0]).toMatch(/\[TIMEOUT\]: Request timed out after 300 ms/);
    expect(ownTimeout[1]).toBeLessThan(1400);
  });

  it('caps outbound requests at 100 per execution across fetch and sdk.http', async () => {
    const before = target.hits.length;
    const done = await runAdhoc(
      api,
      `
      const outcomes = { ok: 0, refused: [] };
      for (let i = 0; i < 105; i++) {
        try { await (i % 2 ? fetch('${target.origin}/cap') : sdk.http.get('${target.origin}/cap')); outcomes.ok++; } catch (e) { outcomes.refused.push(e.message); }
      }
      results.outcomes = outcomes;
      `,
    );
    expect(done.output.outcomes.ok).toBe(100);
    expect(done.output.outcomes.refused).toEqual(Array(5).fill('Outbound request limit reached (100 per execution)'));
    expect(target.hits.length - before).toBe(100);
  });

  it('caps sdk.http at 60 requests per minute per execution, fetch unaffected', async () => {
    const done = await runAdhoc(
      api,
      `
      const refused = [];
      let ok = 0;
      for (let i = 0; i < 62; i++) {
        try { await sdk.http.get('${target.origin}/rate'); ok++; } catch (e) { refused.push(e.message); }
      }
      const f = await fetch('${target.origin}/rate-fetch');
      results.r = { ok, refused, fetchStatus: f.status };
      `,
    );
    expect(done.output.r.ok).toBe(60);
    expect(done.output.r.refused).toHaveLength(2);
    expect(done.output.r.refused[0]).toMatch(/^sdk\.http rate limit: at most 60 requests per minute per execution \(KILN_SDK_HTTP_PER_MINUTE\); a slot frees in \d+ s$/);
    expect(done.output.r.fetchStatus).toBe(200);
  });

  it('keeps sdk.cache per script across runs, isolated between scripts and tenants', async () => {
    const writer = await createScript(api, {
      source: `module.exports = async ({ sdk, input }) => {
        if (input.op === 'write') {
          await sdk.cache.set('greeting', { hello: 'world' });
          await sdk.cache.set('short', 1, 60);
          await sdk.cache.increment('count');
          return { count: await sdk.cache.increment('count', 2) };
        }
        return {
          greeting: await sdk.cache.get('greeting'),
          exists: await sdk.cache.exists('greeting'),
          missing: await sdk.cache.exists('nope'),
          deleted: await sdk.cache.delete('short'),
          afterDelete: await sdk.cache.get('short'),
          count: await sdk.cache.get('count'),
        };
      };`,
    });
    const reader = await createScript(api, { source: "module.exports = async ({ sdk }) => ({ greeting: await sdk.cache.get('greeting'), count: await sdk.cache.get('count') });" });
    expect((await runScript(api, writer.id, { input: { op: 'write' } })).output).toEqual({ count: 3 });
    expect((await runScript(api, writer.id, { input: { op: 'read' } })).output).toEqual({
      greeting: { hello: 'world' },
      exists: true,
      missing: false,
      deleted: true,
      afterDelete: null,
      count: 3,
    });
    expect((await runScript(api, reader.id)).output).toEqual({ greeting: null, count: null });

    const other = await stack.tenant();
    const foreign = await createScript(other.client, { source: "module.exports = async ({ sdk }) => ({ greeting: await sdk.cache.get('greeting') });" });
    expect((await runScript(other.client, foreign.id)).output).toEqual({ greeting: null });

    const redis = new Redis(stack.redis.url);
    try {
      expect(await redis.get(`${stack.redis.prefix}:tenant:${tenant.id}:script:${writer.id}:greeting`)).toBe('{"hello":"world"}');
      expect(await redis.get(`${stack.redis.prefix}:tenant:${tenant.id}:script:${writer.id}:count`)).toBe('3');
    } finally {
      redis.disconnect();
    }
  });

  it('stores sdk.log entries with their metadata in the execution logs, beside console', async () => {
    const done = await runAdhoc(
      api,
      `
      console.log('plain', 1, [2, 3]);
      sdk.log.info('charged', { amount: 5, currency: 'EUR' });
      logger.warn('low stock', { sku: 'A-1', left: 2 });
      sdk.log.error('boom');
      sdk.log.debug('dbg', { nested: { deep: [1] } });
      results.ok = true;
      `,
    );
    expect(done.status).toBe('completed');
    expect(done.logs.map((l: any) => ({ level: l.level, message: l.message, meta: l.meta ?? null }))).toEqual([
      { level: 'log', message: 'plain 1 2,3', meta: null },
      { level: 'info', message: 'charged', meta: { amount: 5, currency: 'EUR' } },
      { level: 'warn', message: 'low stock', meta: { sku: 'A-1', left: 2 } },
      { level: 'error', message: 'boom', meta: null },
      { level: 'debug', message: 'dbg', meta: { nested: { deep: [1] } } },
    ]);
    for (const line of done.logs) expect(new Date(line.time).getTime()).not.toBeNaN();
  });

  it('publishes events that start the subscribed scripts of the tenant', async () => {
    const subscriber = await createScript(api, {
      source: 'module.exports = ({ context }) => ({ type: context.trigger.type, eventType: context.trigger.eventType, payload: context.trigger.eventPayload });',
      triggers: { events: ['sdk.ping'] },
    });
    const publisher = await runAdhoc(api, "results.published = await events.publish('sdk.ping', { n: 42 });");
    expect(publisher.output.published).toEqual({ published: true, type: 'sdk.ping', depth: 1 });
    const [started] = await eventually(async () => {
      const list = await executionsOf(api, subscriber.id);
      return list.length > 0 ? list : undefined;
    });
    const done = await pollExecution(api, started.id, (e) => e.status === 'completed');
    expect(done.output).toEqual({ type: 'event', eventType: 'sdk.ping', payload: { n: 42 } });
    expect(done.trigger).toMatchObject({ type: 'event', eventType: 'sdk.ping', depth: 1, sourceExecutionId: publisher.id });
  });

  it('provides URL, TextEncoder/TextDecoder, atob/btoa, crypto.randomUUID and timers', async () => {
    const done = await runAdhoc(
      api,
      `
      const u = new URL('https://example.com:8443/a/b?x=1&y=two#frag');
      u.searchParams.append('z', '3');
      const bytes = new TextEncoder().encode('héllo');
      const uuid = crypto.randomUUID();
      const waited = await new Promise((resolve) => { const t0 = Date.now(); setTimeout(() => resolve(Date.now() - t0), 20); });
      const cleared = await new Promise((resolve) => { const id = setTimeout(() => resolve('fired'), 5); clearTimeout(id); setTimeout(() => resolve('cleared'), 30); });
      results.values = {
        href: u.href, host: u.host, path: u.pathname, y: u.searchParams.get('y'),
        bytes: Array.from(bytes), decoded: new TextDecoder().decode(bytes),
        b64: btoa('kiln:rocks'), unb64: atob('a2lsbjpyb2Nrcw=='),
        uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(uuid),
        unique: crypto.randomUUID() !== uuid,
        waited: waited >= 15, cleared,
      };
      `,
    );
    expect(done.output.values).toEqual({
      href: 'https://example.com:8443/a/b?x=1&y=two&z=3#frag',
      host: 'example.com:8443',
      path: '/a/b',
      y: 'two',
      bytes: [104, 195, 169, 108, 108, 111],
      decoded: 'héllo',
      b64: 'a2lsbjpyb2Nrcw==',
      unb64: 'kiln:rocks',
      uuid: true,
      unique: true,
      waited: true,
      cleared: 'cleared',
    });
  });

  // docs/sdk.md promises one runnable example per global: run every one of them.
  const examples = [...readFileSync(path.join(__dirname, '..', '..', 'docs', 'sdk.md'), 'utf8').matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1] as string);

  it('docs/sdk.md has an example for every global', () => {
    const all = examples.join('\n');
    for (const global of ['input', 'results', 'context', 'console.', 'sdk.log', 'logger.', 'fetch(', 'sdk.http.get', 'sdk.http.post', 'sdk.http.put', 'sdk.http.patch', 'sdk.http.delete', 'sdk.cache.get', 'sdk.cache.set', 'sdk.cache.delete', 'sdk.cache.exists', 'sdk.cache.increment', 'events.publish', 'approval.request', 'setTimeout', 'clearTimeout', 'new URL', 'URLSearchParams', 'TextEncoder', 'TextDecoder', 'atob', 'btoa', 'crypto.randomUUID', 'crypto.getRandomValues', 'new Headers', 'new Response']) {
      expect([global, all.includes(global)]).toEqual([global, true]);
    }
  });

  it.each(examples.map((source, i): [number, string, string] => [i + 1, source.split('\n')[0] ?? '', source]))('runs docs/sdk.md example %i (%s)', async (_n, _first, source) => {
    const runnable = source.replaceAll('https://api.example.com', target.origin);
    const done = await runAdhoc(api, runnable, { input: { a: 2, b: 3, name: 'Ada' } });
    const expected = runnable.includes('approval.request(') ? 'pending_approval' : 'completed';
    expect([done.status, done.error]).toEqual([expected, null]);
  });

  it('adds little to a loopback round trip (measured, loosely bounded)', async () => {
    const rounds = 30;
    const done = await runAdhoc(
      api,
      `
      await fetch('${target.origin}/warm');
      const t0 = Date.now();
      for (let i = 0; i < ${rounds}; i++) await fetch('${target.origin}/rt');
      results.perFetchMs = (Date.now() - t0) / ${rounds};
      `,
    );
    const t0 = performance.now();
    for (let i = 0; i < rounds; i++) await (await fetch(`${target.origin}/direct`)).text();
    const directMs = (performance.now() - t0) / rounds;
    // Recorded for docs/sdk.md; the bound only catches a pathological regression.
    process.stdout.write(`fetch round trip from a script: ${done.output.perFetchMs.toFixed(2)} ms (direct from the test process: ${directMs.toFixed(2)} ms)\n`);
    expect(done.output.perFetchMs).toBeLessThan(250);
  });
});

import { SandboxPool, type HostCall } from '../src';
import { deferred, request } from './pool-fixture';

describe('sandbox: host calls', () => {
  let pool: SandboxPool;
  beforeAll(async () => {
    pool = new SandboxPool({ processes: 1, runsPerProcess: 4 });
    await pool.start();
  });
  afterAll(() => pool.close(0));

  it('round-trips fetch through the host', async () => {
    const calls: unknown[] = [];
    const host: HostCall = (op, args) => {
      calls.push([op, args]);
      return Promise.resolve({
        status: 201,
        statusText: 'Created',
        headers: { 'content-type': 'application/json', 'x-request-id': 'r1' },
        url: 'http://127.0.0.1:8080/x',
        body: '{"hello":"world"}',
      });
    };
    const source = `
      const r = await fetch('http://127.0.0.1:8080/x', { method: 'PUT', headers: { Authorization: 'Bearer t' }, body: 'raw' });
      results.seen = { status: r.status, ok: r.ok, statusText: r.statusText, id: r.headers.get('X-Request-Id'), url: r.url, json: await r.json() };
      try { await r.text(); } catch (e) { results.reread = e.name; }
    `;
    const outcome = await pool.run(request(source, { host }));
    expect(outcome).toMatchObject({
      status: 'completed',
      output: {
        seen: { status: 201, ok: true, statusText: 'Created', id: 'r1', url: 'http://127.0.0.1:8080/x', json: { hello: 'world' } },
        reread: 'TypeError',
      },
    });
    expect(calls).toEqual([['fetch', ['http://127.0.0.1:8080/x', { method: 'PUT', headers: { authorization: 'Bearer t' }, body: 'raw' }]]]);
  });

  it('serves sdk.http, sdk.cache and events', async () => {
    const cache = new Map<string, unknown>();
    const published: unknown[] = [];
    const answer = (op: string, args: unknown[]): unknown => {
      switch (op) {
        case 'http.request':
          return { status: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify({ echo: args[0] }) };
        case 'cache.set':
          cache.set(String(args[0]), args[1]);
          return 'OK';
        case 'cache.get':
          return cache.get(String(args[0])) ?? null;
        case 'cache.increment': {
          const next = Number(cache.get(String(args[0])) ?? 0) + Number(args[1]);
          cache.set(String(args[0]), next);
          return next;
        }
        case 'events.publish':
          published.push(args);
          return { published: true };
        default:
          throw new Error(`unexpected ${op}`);
      }
    };
    const host: HostCall = (op, args) => {
      try {
        return Promise.resolve(answer(op, args));
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
    };
    const source = `
      module.exports = async ({ sdk, events }) => {
        const reply = await sdk.http.post('https://api.example.com/items', { name: 'n' }, { headers: { 'X-A': '1' } });
        await sdk.cache.set('k', { v: 1 }, 30);
        await sdk.cache.increment('hits', 5);
        const published = await events.publish('order.created', { id: 9 });
        return { reply, cached: await sdk.cache.get('k'), hits: await sdk.cache.increment('hits'), published };
      };
    `;
    expect(await pool.run(request(source, { host }))).toMatchObject({
      status: 'completed',
      output: {
        reply: {
          status: 200,
          body: { echo: { method: 'POST', url: 'https://api.example.com/items', body: { name: 'n' }, headers: { 'X-A': '1' } } },
        },
        cached: { v: 1 },
        hits: 6,
        published: { published: true },
      },
    });
    expect(published).toEqual([['order.created', { id: 9 }]]);
  });

  it('rejects in the script with the host error message', async () => {
    const host: HostCall = () => Promise.reject(new Error('Destination refused by the SSRF guard'));
    const source = "try { await fetch('http://169.254.169.254/'); } catch (e) { results.error = e.message; }";
    expect(await pool.run(request(source, { host }))).toMatchObject({
      status: 'completed',
      output: { error: 'Destination refused by the SSRF guard' },
    });
  });

  it('caps outbound requests per run across fetch and sdk.http', async () => {
    let seen = 0;
    const host: HostCall = () => {
      seen += 1;
      return Promise.resolve({ status: 200, headers: {}, body: '' });
    };
    const source = `
      const outcomes = [];
      for (let i = 0; i < 5; i++) {
        try { await (i % 2 ? sdk.http.get('http://x/') : fetch('http://x/')); outcomes.push('ok'); } catch (e) { outcomes.push(e.message); }
      }
      await sdk.cache.get('not counted');
      results.outcomes = outcomes;
    `;
    const outcome = await pool.run(request(source, { host, limits: { maxRequests: 3 } }));
    const refused = 'Outbound request limit reached (3 per execution)';
    expect(outcome).toMatchObject({ status: 'completed', output: { outcomes: ['ok', 'ok', 'ok', refused, refused] } });
    expect(seen).toBe(4);
  });

  it('rejects host-backed calls clearly when the run has no host', async () => {
    const source = "try { await sdk.cache.get('k'); } catch (e) { results.error = e.message; }";
    expect(await pool.run(request(source))).toMatchObject({
      status: 'completed',
      output: { error: 'cache.get is not available: no host capabilities were given to this run' },
    });
  });

  it('times out a run stuck on a slow host call, and drops the late answer', async () => {
    const answer = deferred<unknown>();
    const asked = deferred();
    const host: HostCall = () => {
      asked.resolve();
      return answer.promise;
    };
    const running = pool.run(request("results.value = await sdk.cache.get('slow');", { host, limits: { timeoutMs: 300 } }));
    await asked.promise;
    expect(await running).toMatchObject({ status: 'failed', error: { code: 'TIMEOUT' } });
    answer.resolve('too late');
    expect(await pool.run(request('module.exports = () => "next";'))).toMatchObject({ status: 'completed', output: 'next' });
  });
});

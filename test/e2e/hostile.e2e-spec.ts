import { type ApiClient, KilnStack } from '@kiln/testing';
import { startTarget, type Target } from './sdk-fixtures';

// Hostile scripts through the API with a real worker: each ends with the
// right status, and the same worker runs a normal script right after it.
// Only 127.0.0.2 is opened (KILN_OUTBOUND_ALLOW); the "internal" target on
// 127.0.0.1 must never see a request.
describe('hostile scripts', () => {
  let stack: KilnStack;
  let api: ApiClient;
  let workerId: string;
  let internal: Target;
  let allowed: Target;

  beforeAll(async () => {
    internal = await startTarget((_req, _body, res) => res.end('internal secret'), '127.0.0.1');
    allowed = await startTarget((req, _body, res) => {
      const to = /^\/redirect\?to=(.+)$/.exec(req.url ?? '')?.[1];
      if (to) {
        res.writeHead(302, { location: decodeURIComponent(to) }).end();
        return;
      }
      res.end('public');
    }, '127.0.0.2');
    stack = await KilnStack.start({ apps: ['gateway', 'worker'], env: { KILN_OUTBOUND_ALLOW: '127.0.0.2', KILN_WORKER_CONCURRENCY: '2' } });
    api = (await stack.tenant()).client;
    workerId = (await stack.app('worker').waitForLog((l) => l.msg === 'worker started')).workerId as string;
  });
  afterAll(async () => {
    await stack?.stop();
    await internal?.close();
    await allowed?.close();
  });

  async function run(source: string, extra: Record<string, unknown> = {}): Promise<any> {
    const res = await api.post('/v1/runs', { source, wait: 30_000, ...extra });
    expect(res.status).toBe(200);
    return res.body;
  }

  async function expectWorkerServes(): Promise<void> {
    const next = await run("module.exports = ({ input }) => ({ ok: true, sum: input.a + input.b, polluted: ({}).polluted ?? null, map: [1, 2].map((x) => x * 2) });", { input: { a: 2, b: 3 } });
    expect(next).toMatchObject({ status: 'completed', output: { ok: true, sum: 5, polluted: null, map: [2, 4] }, workerId });
    expect(stack.app('worker').hasExited).toBe(false);
  }

  const cases: [string, string, Record<string, unknown>, (e: any) => void][] = [
    ['while (true) {}', 'while (true) {}', { timeoutMs: 1000 }, (e) => expect(e.error).toMatchObject({ code: 'TIMEOUT', message: 'Script exceeded the time limit of 1000 ms' })],
    ['an async loop of resolved promises', 'for (;;) { await null; }', { timeoutMs: 1000 }, (e) => expect(e.error.code).toBe('TIMEOUT')],
    [
      'a memory bomb',
      "const hoard = []; while (true) hoard.push({ n: hoard.length, s: 'x'.repeat(256) + hoard.length });",
      { memoryMb: 16, timeoutMs: 20_000 },
      (e) => expect(e.error).toMatchObject({ code: 'MEMORY_LIMIT', message: expect.stringContaining('16 MB') }),
    ],
    [
      '10 MB of console output',
      "const line = 'x'.repeat(1024); for (let i = 0; i < 10 * 1024; i++) console.log(line); results.done = true;",
      {},
      (e) => {
        expect(e.status).toBe('completed');
        expect(e.output).toEqual({ done: true });
        expect(e.logsTruncated).toBe(true);
        expect(JSON.stringify(e.logs).length).toBeLessThan(1.1 * 1024 * 1024);
      },
    ],
    ['a result over 1 MB', "module.exports = () => ({ blob: 'x'.repeat(1024 * 1024 + 16) });", {}, (e) => expect(e.error).toMatchObject({ code: 'OUTPUT_LIMIT' })],
    [
      'deep recursion',
      'function dive(n) { return dive(n + 1) + 1; } dive(0);',
      {},
      (e) => expect(e.error).toMatchObject({ code: 'EXECUTION_ERROR', message: expect.stringContaining('Maximum call stack size exceeded') }),
    ],
    [
      'NUL characters and lone surrogates in output, logs and input (PostgreSQL JSON cannot store them)',
      "console.log('log\\u0000line', { k: 'v\\u0000' }); results.text = 'a\\u0000b'; results['key\\u0000'] = 1; results.input = input.s; results.lone = '\\ud800';",
      { input: { s: 'in\u0000put' } },
      (e) => {
        expect(e.status).toBe('completed');
        expect(e.output).toEqual({ text: 'a\uFFFDb', 'key\uFFFD': 1, input: 'in\uFFFDput', lone: '\uFFFD' });
        expect(e.input).toEqual({ s: 'in\uFFFDput' });
        expect(e.logs[0].message).toContain('log\uFFFDline');
      },
    ],
    ['catastrophic-backtracking regex', "results.m = /^(a+)+$/.test('a'.repeat(48) + 'b');", { timeoutMs: 1000 }, (e) => expect(e.error.code).toBe('TIMEOUT')],
    [
      '10,000 timers',
      `let fired = 0;
       const all = [];
       for (let i = 0; i < 10000; i++) all.push(new Promise((resolve) => setTimeout(() => { fired++; resolve(); }, 1 + (i % 20))));
       try { setTimeout(() => {}, 1); results.extra = 'accepted'; } catch (e) { results.extra = e.message; }
       await Promise.all(all);
       results.fired = fired;
       for (let i = 0; i < 10000; i++) setTimeout(() => {}, 3_600_000);`,
      {},
      (e) => {
        expect(e.status).toBe('completed');
        expect(e.output).toEqual({ fired: 10000, extra: 'Too many pending timers: a run may have at most 10000 timers at once' });
      },
    ],
  ];

  it.each(cases)('%s ends with the right status and the worker keeps serving', async (_name, source, extra, check) => {
    const started = Date.now();
    const execution = await run(source, extra);
    check(execution);
    expect(execution.workerId).toBe(workerId);
    expect(Date.now() - started).toBeLessThan(25_000);
    await expectWorkerServes();
  });

  it('refuses a source holding a NUL character with 400 and where it is, for runs and scripts alike', async () => {
    const adhoc = await api.post('/v1/runs', { source: "results.s = 'a\u0000b';" });
    expect(adhoc.status).toBe(400);
    expect(adhoc.body.error.code).toBe('VALIDATION_ERROR');
    expect(JSON.stringify(adhoc.body.error)).toContain('NUL character (U+0000) at line 1, column 15');
    const script = await api.post('/v1/scripts', { name: 'nul', source: "module.exports = () => '\u0000';" });
    expect(script.status).toBe(400);
    await expectWorkerServes();
  });

  describe('outbound requests to forbidden destinations', () => {
    const targets: [string, () => string, RegExp][] = [
      ['cloud metadata 169.254.169.254', () => 'http://169.254.169.254/latest/meta-data/iam/', /SSRF_BLOCKED.*169\.254\.169\.254 is link-local/],
      ['127.0.0.1 without the allow-list', () => `http://127.0.0.1:${internal.port}/`, /SSRF_BLOCKED.*127\.0\.0\.1 is loopback/],
      ['RFC 1918 10.0.0.1', () => 'http://10.0.0.1/', /SSRF_BLOCKED.*10\.0\.0\.1 is private \(RFC 1918\)/],
      ['IPv6 loopback [::1]', () => `http://[::1]:${internal.port}/`, /SSRF_BLOCKED.*::1 is loopback/],
      ['IPv4-mapped IPv6 [::ffff:127.0.0.1]', () => `http://[::ffff:127.0.0.1]:${internal.port}/`, /SSRF_BLOCKED.*loopback/],
      ['a hostname resolving to 127.0.0.1', () => `http://localhost:${internal.port}/`, /SSRF_BLOCKED.*localhost resolves to 127\.0\.0\.1, which is loopback/],
      [
        'a redirect from an allowed host to a private address',
        () => `${allowed.origin}/redirect?to=${encodeURIComponent(`http://127.0.0.1:${internal.port}/`)}`,
        /SSRF_BLOCKED.*127\.0\.0\.1 is loopback/,
      ],
      ['a redirect from an allowed host to cloud metadata', () => `${allowed.origin}/redirect?to=${encodeURIComponent('http://169.254.169.254/')}`, /SSRF_BLOCKED.*link-local/],
    ];

    it.each(targets)('refuses %s (fetch and sdk.http), and nothing reaches it', async (_name, url, message) => {
      const before = internal.hits.length;
      const execution = await run(`
        try { await sdk.http.get(${JSON.stringify(url())}); console.log('sdk.http reached it'); } catch (e) { console.log(e.message); }
        await fetch(${JSON.stringify(url())});
        results.reached = true;
      `);
      expect(execution).toMatchObject({ status: 'failed', error: { code: 'EXECUTION_ERROR' } });
      expect(execution.error.message).toMatch(message);
      expect(execution.logs[0].message).toMatch(message);
      expect(internal.hits.length).toBe(before);
      await expectWorkerServes();
    });

    it('still reaches the allowed host, and follows its redirects to allowed places', async () => {
      const execution = await run(`
        const direct = await fetch('${allowed.origin}/');
        const hop = await fetch('${allowed.origin}/redirect?to=' + encodeURIComponent('${allowed.origin}/final'));
        results.r = { direct: await direct.text(), hop: await hop.text(), redirected: hop.redirected, url: hop.url };
      `);
      expect(execution.output.r).toEqual({ direct: 'public', hop: 'public', redirected: true, url: `${allowed.origin}/final` });
    });
  });

  describe('escape attempts', () => {
    it('finds no host object through the constructor chain of anything the SDK hands in', async () => {
      const execution = await run(
        `
        module.exports = async function (arg) {
          const response = await fetch('${allowed.origin}/');
          const httpReply = await sdk.http.get('${allowed.origin}/');
          const probes = {
            input, context, env: context.env, trigger: context.trigger, console, log: console.log, sdk, http: sdk.http, get: sdk.http.get,
            cache: sdk.cache, cacheGet: sdk.cache.get, cacheValue: await sdk.cache.get('none'), sdkLog: sdk.log, sdkLogInfo: sdk.log.info,
            fetch, response, headers: response.headers, text: response.text, httpReply, events, publish: events.publish, approval, request: approval.request,
            results, setTimeout, clearTimeout, url: new URL('http://x/'), params: new URLSearchParams('a=1'), crypto, uuid: crypto.randomUUID,
            encoder: new TextEncoder(), decoder: new TextDecoder(), atob, btoa, handlerArg: arg, logger, API, eventData, self: this, globalObject: globalThis,
          };
          const escape = 'return [typeof process, typeof require, typeof Buffer, typeof global, typeof module === "object" && typeof module.require].join()';
          const found = {};
          for (const [name, value] of Object.entries(probes)) {
            const seen = [];
            for (const path of [(v) => v.constructor.constructor, (v) => Object.getPrototypeOf(v).constructor.constructor, (v) => v.__proto__.__proto__.constructor.constructor]) {
              try { seen.push(path(value)(escape)()); } catch (e) { seen.push('threw ' + e.name); }
            }
            found[name] = seen;
          }
          return found;
        };`,
        { input: { a: 1 } },
      );
      expect(execution.status).toBe('completed');
      const clean = 'undefined,undefined,undefined,undefined,false';
      const entries = Object.entries(execution.output as Record<string, string[]>);
      expect(entries.length).toBeGreaterThanOrEqual(40);
      for (const [name, seen] of entries) {
        for (const value of seen) expect([name, value === clean || value === 'threw TypeError' ? 'clean' : value]).toEqual([name, 'clean']);
      }
      await expectWorkerServes();
    });

    it('a script that breaks Promise.prototype.then only breaks its own run', async () => {
      const execution = await run("Promise.prototype.then = function () { return 'hijacked'; }; results.x = 1;", { timeoutMs: 1000 });
      // The runtime's own awaits go through the patched then: the run can only time out.
      expect(execution.error).toMatchObject({ code: 'TIMEOUT' });
      await expectWorkerServes();
    });

    it('pollution of prototypes and SDK objects never reaches the host or the next run', async () => {
      const polluter = await run(`
        const proto = JSON.parse('{"__proto__": {"polluted": true}}');
        Object.prototype.polluted = 'yes';
        Array.prototype.map = () => 'hijacked';
        Function.prototype.call = () => 'hijacked';
        JSON.parse = () => ({ hijacked: true });
        JSON.stringify = () => '"hijacked"';
        const attempts = {};
        for (const [name, target] of Object.entries({ context, trigger: context.trigger, env: context.env })) {
          try { target.injected = 1; attempts[name] = target.injected === 1 ? 'mutable' : 'frozen'; } catch (e) { attempts[name] = 'frozen'; }
        }
        sdk.http.get = () => 'hijacked';
        fetch.constructor.prototype.polluted = 'fn';
        globalThis.leaked = 1;
        results.attempts = attempts;
        results.proto = proto;
      `);
      expect(polluter.status).toBe('completed');
      expect(polluter.output).toEqual({ attempts: { context: 'frozen', trigger: 'frozen', env: 'frozen' }, proto: { ['__proto__']: { polluted: true } } });

      // Hostile JSON through every host capability that parses script data.
      const hostile = await run(`
        const evil = JSON.parse('{"__proto__": {"polluted": "host"}, "constructor": {"prototype": {"polluted": "host"}}}');
        await sdk.cache.set('__proto__', evil);
        await sdk.cache.set('constructor', evil);
        const back = await sdk.cache.get('__proto__');
        await events.publish('hostile.event', evil);
        try { await sdk.http.post('${allowed.origin}/', evil, { headers: { '__proto__': 'x' }, query: evil }); } catch (e) { console.log(e.message); }
        results.back = Object.keys(back);
        results.output = evil;
      `);
      expect(hostile.status).toBe('completed');
      expect(hostile.output.back).toEqual(['__proto__', 'constructor']);

      const probe = await run("module.exports = () => ({ polluted: ({}).polluted ?? null, map: [1].map((x) => x + 1), leaked: typeof leaked, json: JSON.parse('{\"a\":1}'), fnPolluted: (function () {}).polluted ?? null });");
      expect(probe.output).toEqual({ polluted: null, map: [2], leaked: 'undefined', json: { a: 1 }, fnPolluted: null });
      await expectWorkerServes();
    });
  });
});

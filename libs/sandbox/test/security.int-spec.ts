import { SandboxPool } from '../src';
import { request } from './pool-fixture';

const fetchReply = () =>
  Promise.resolve({
    status: 200,
    statusText: 'OK',
    headers: { 'content-type': 'application/json' },
    url: 'http://x/',
    body: '{"a":{"b":[1]}}',
  });

describe('sandbox: isolation', () => {
  let pool: SandboxPool;
  beforeAll(async () => {
    pool = new SandboxPool({ processes: 1, runsPerProcess: 4 });
    await pool.start();
  });
  afterAll(() => pool.close(0));

  it('leaves no Node globals for scripts', async () => {
    const source = `
      const names = ['require', 'process', 'Buffer', 'global', '__dirname', '__filename', 'setImmediate', 'module', 'exports'];
      results.types = Object.fromEntries(names.map((n) => [n, typeof globalThis[n]]));
      results.direct = [typeof require, typeof process, typeof Buffer, typeof global];
      try { await import('fs'); results.dynamicImport = 'loaded'; } catch (e) { results.dynamicImport = e.message; }
    `;
    const outcome = await pool.run(request(source));
    expect(outcome).toMatchObject({
      status: 'completed',
      output: {
        types: Object.fromEntries(
          ['require', 'process', 'Buffer', 'global', '__dirname', '__filename', 'setImmediate', 'module', 'exports'].map((n) => [
            n,
            'undefined',
          ]),
        ),
        direct: ['undefined', 'undefined', 'undefined', 'undefined'],
        dynamicImport: 'Not supported',
      },
    });
  });

  it('finds no host object through the constructor chain of anything handed in', async () => {
    const source = `
      module.exports = async function (arg) {
        const response = await fetch('http://x/');
        const probes = {
          input, context, nested: context.nested, console, log: console.log, sdk, http: sdk.http, get: sdk.http.get,
          cacheGet: sdk.cache.get, sdkLog: sdk.log.info, fetch, response, headers: response.headers, json: await response.clone().json(),
          results, setTimeout, approval: approval.request, publish: events.publish, url: new URL('http://x/'), uuid: crypto.randomUUID,
          handlerArg: arg, self: this, globalObject: globalThis, encoder: new TextEncoder(), httpReply: await sdk.http.get('http://x/'),
        };
        const escape = 'return [typeof process, typeof require, typeof Buffer, typeof global].join()';
        const found = {};
        for (const [name, value] of Object.entries(probes)) {
          let seen;
          try {
            seen = value.constructor.constructor(escape)();
          } catch (e) {
            seen = 'threw ' + e.name;
          }
          found[name] = seen;
        }
        found.functionThis = console.log.constructor('return this')() === globalThis;
        found.protoOfLog = Object.getPrototypeOf(console.log) === Function.prototype;
        return found;
      };
    `;
    const outcome = await pool.run(request(source, { host: fetchReply, globals: { context: { tenantId: 't', nested: { deep: true } } } }));
    expect(outcome.status).toBe('completed');
    if (outcome.status !== 'completed') return;
    const found = outcome.output as Record<string, unknown>;
    const clean = 'undefined,undefined,undefined,undefined';
    for (const [name, seen] of Object.entries(found)) {
      if (name === 'functionThis' || name === 'protoOfLog') expect([name, seen]).toEqual([name, true]);
      else expect([name, seen]).toEqual([name, clean]);
    }
    expect(Object.keys(found)).toHaveLength(27);
  });

  it('does not expose runtime internals through stack frames', async () => {
    const source = `
      module.exports = () => {
        Error.prepareStackTrace = (_error, frames) => frames.map((f) => [typeof f.getFunction(), typeof f.getThis(), f.getFileName()]);
        const frames = new Error().stack;
        Error.prepareStackTrace = undefined;
        return frames.filter(([, , file]) => file !== 'script.js');
      };
    `;
    const outcome = await pool.run(request(source));
    expect(outcome.status).toBe('completed');
    if (outcome.status !== 'completed') return;
    for (const [fnType, thisType] of outcome.output as string[][]) expect([fnType, thisType]).toEqual(['undefined', 'undefined']);
  });

  it('gives every run a fresh context: pollution never reaches the next run of the tenant', async () => {
    const polluter = `
      Object.prototype.polluted = 'yes';
      Array.prototype.map = () => 'hijacked';
      JSON.stringify = () => '"hijacked"';
      globalThis.leaked = 1;
      console.log = () => {};
      results.done = true;
    `;
    expect(await pool.run(request(polluter, { isolationKey: 'tenant-p' }))).toMatchObject({ status: 'completed', output: { done: true } });
    const probe = `
      console.log('still logging');
      module.exports = () => ({ polluted: ({}).polluted ?? null, map: [1].map((x) => x + 1), leaked: typeof leaked });
    `;
    expect(await pool.run(request(probe, { isolationKey: 'tenant-p' }))).toMatchObject({
      status: 'completed',
      output: { polluted: null, map: [2], leaked: 'undefined' },
      logs: [{ message: 'still logging' }],
    });
  });

  it('never runs code that closes the script wrapper early, and the child keeps serving other runs', async () => {
    // Wrapped in the sandbox's async function, these lines would close it and
    // run the loop while the wrapper is evaluated: on the child's main
    // thread, out of reach of the time limit.
    const escape = "}); })(); console.log('escaped'); while (true) {}\n(function () { return (async function () {";
    const children = pool.stats().pids;
    const bystander = pool.run(request('await new Promise((r) => setTimeout(r, 50)); module.exports = () => ({ ok: true });', { isolationKey: 'tenant-b' }));
    const outcome = await pool.run(request(escape, { isolationKey: 'tenant-e', limits: { timeoutMs: 1000 } }));
    expect(outcome).toMatchObject({
      status: 'failed',
      error: { code: 'EXECUTION_ERROR', message: expect.stringMatching(/^SyntaxError: .*\[script\.js:1:\d+\]$/) },
      logs: [],
    });
    expect(await bystander).toMatchObject({ status: 'completed', output: { ok: true } });
    expect(pool.stats().pids).toEqual(children);
  });

  it('keeps a script that overrides JSON from corrupting its own result envelope', async () => {
    const outcome = await pool.run(
      request("JSON.stringify = () => 'not json'; JSON.parse = () => 1; module.exports = () => ({ fine: true });"),
    );
    expect(outcome).toMatchObject({ status: 'completed', output: { fine: true } });
  });

  it('hands the script copies: changing input does not change what the host holds', async () => {
    const input = { list: [1, 2] };
    const outcome = await pool.run(request('input.list.push(3); results.seen = input.list;', { globals: { input } }));
    expect(outcome).toMatchObject({ status: 'completed', output: { seen: [1, 2, 3] } });
    expect(input).toEqual({ list: [1, 2] });
  });
});

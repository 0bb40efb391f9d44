import { SandboxPool } from '../src';
import { request } from './pool-fixture';

// RunGlobals.handlerExtras: fields a surface adds to the handler argument
// (ApiRun: eventName, apiKey, scriptId), never shadowing a global.
describe('sandbox: handler extras', () => {
  let pool: SandboxPool;
  beforeAll(async () => {
    pool = new SandboxPool({ processes: 1, runsPerProcess: 2 });
    await pool.start();
  });
  afterAll(() => pool.close(0));

  it('adds the extras to the handler argument, frozen, below the globals', async () => {
    const outcome = await pool.run(
      request(
        `module.exports = (arg) => {
          let frozen = false;
          try { 'use strict'; arg.meta.tag = 'changed'; frozen = arg.meta.tag === 'x'; } catch { frozen = true; }
          return { eventName: arg.eventName, apiKey: arg.apiKey, input: arg.input, sdk: typeof arg.sdk.http.get, frozen, global: typeof eventName };
        };`,
        { globals: { handlerExtras: { eventName: 'ApiRun', apiKey: 'ak_12345…', input: 'shadowed?', sdk: null, meta: { tag: 'x' } } } },
      ),
    );
    expect(outcome).toMatchObject({
      status: 'completed',
      output: { eventName: 'ApiRun', apiKey: 'ak_12345…', input: { a: 1, b: 2 }, sdk: 'function', frozen: true, global: 'undefined' },
    });
  });

  it('offers the same globals on the argument, in the same order, built on first use', async () => {
    const outcome = await pool.run(
      request(`module.exports = (arg) => {
        const lazy = typeof Object.getOwnPropertyDescriptor(arg, 'URL').get;
        const same = arg.URL === URL && arg.crypto === crypto && arg.TextDecoder === globalThis.TextDecoder;
        const settled = Object.getOwnPropertyDescriptor(arg, 'URL');
        arg.Headers = 1;
        return { keys: Object.keys(arg), lazy, same, settled: [settled.writable, settled.enumerable, settled.configurable], headers: [arg.Headers, typeof Headers] };
      };`),
    );
    expect(outcome).toMatchObject({
      status: 'completed',
      output: {
        keys: ['input', 'context', 'sdk', 'events', 'approval', 'fetch', 'console', 'results', 'setTimeout', 'clearTimeout', 'queueMicrotask',
          'URL', 'URLSearchParams', 'Headers', 'Response', 'TextEncoder', 'TextDecoder', 'atob', 'btoa', 'crypto', 'DOMException',
          'eventData', 'requestUser', 'logger', 'API'],
        lazy: 'function',
        same: true,
        settled: [true, true, true],
        headers: [1, 'function'],
      },
    });
  });

  it('builds the argument even after the script polluted Object.prototype', async () => {
    const outcome = await pool.run(
      request(`Object.prototype.get = function () { return 'polluted'; };
        Object.prototype.value = 'polluted';
        module.exports = (arg) => [typeof arg.URL, arg.URL === URL, typeof arg.crypto.randomUUID, arg.input.a];`),
    );
    expect(outcome).toMatchObject({ status: 'completed', output: ['function', true, 'function', 1] });
  });

  it('leaves the argument as it was without extras', async () => {
    const outcome = await pool.run(request('module.exports = (arg) => ["eventName" in arg, "apiKey" in arg];'));
    expect(outcome).toMatchObject({ status: 'completed', output: [false, false] });
  });
});

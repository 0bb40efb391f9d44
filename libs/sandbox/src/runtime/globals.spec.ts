import { createRuntimeHarness, type RuntimeHarness } from '../../test/runtime-harness';

describe('runtime globals inside the isolate', () => {
  let rt: RuntimeHarness;
  beforeEach(async () => {
    rt = await createRuntimeHarness({ globals: { input: { n: 1 }, context: { tenantId: 't', nested: { env: { K: 'v' } } } } });
  });
  afterEach(() => rt.dispose());

  it('exposes the documented globals and no Node ones', async () => {
    const result = await rt.run(`
      const names = ['console', 'results', 'input', 'context', 'sdk', 'events', 'approval', 'fetch', 'setTimeout', 'clearTimeout',
        'URL', 'URLSearchParams', 'TextEncoder', 'TextDecoder', 'atob', 'btoa', 'crypto', 'Headers', 'logger', 'API'];
      const node = ['require', 'process', 'Buffer', 'global', 'module', 'exports', '__dirname', 'setImmediate'];
      return {
        present: names.filter((n) => typeof globalThis[n] === 'undefined'),
        absent: node.filter((n) => typeof globalThis[n] !== 'undefined'),
        enumerable: Object.keys(globalThis),
      };
    `);
    expect(result).toEqual({ present: [], absent: [], enumerable: [] });
  });

  it('builds the heavier globals on first use, then keeps them as plain data properties', async () => {
    const result = await rt.run(`
      const before = Object.getOwnPropertyDescriptor(globalThis, 'URL');
      const first = URL;
      const after = Object.getOwnPropertyDescriptor(globalThis, 'URL');
      return {
        lazyBefore: typeof before.get,
        after: { value: after.value === first, writable: after.writable, enumerable: after.enumerable, configurable: after.configurable },
        same: globalThis.URL === first && URL === first,
        types: [typeof URL, typeof URLSearchParams, typeof Headers, typeof Response, typeof TextEncoder, typeof TextDecoder, typeof crypto, typeof DOMException],
        domException: [new DOMException('m', 'N') instanceof Error, new DOMException('m', 'N').name, Object.getPrototypeOf(DOMException) === Error],
        crypto: crypto === globalThis.crypto,
      };
    `);
    expect(result).toEqual({
      lazyBefore: 'function',
      after: { value: true, writable: true, enumerable: false, configurable: true },
      same: true,
      types: ['function', 'function', 'function', 'function', 'function', 'function', 'object', 'function'],
      domException: [true, 'N', true],
      crypto: true,
    });
  });

  it('lets scripts overwrite and delete the lazy globals like any other', async () => {
    const result = await rt.run(`
      globalThis.TextEncoder = 1;
      const written = Object.getOwnPropertyDescriptor(globalThis, 'TextEncoder');
      delete globalThis.Headers;
      const inherited = Object.create(globalThis);
      inherited.Response = 2;
      return [TextEncoder, written.writable, written.enumerable, typeof globalThis.Headers, inherited.Response, typeof Response,
        Object.keys(inherited)];
    `);
    expect(result).toEqual([1, true, false, 'undefined', 2, 'function', ['Response']]);
  });

  it('deep-freezes context and leaves input writable', async () => {
    const result = await rt.run(`
      'use strict';
      let frozen = false;
      try { context.nested.env.K = 'changed'; } catch { frozen = true; }
      input.n = 2;
      return [frozen, context.nested.env.K, input.n, API === sdk, logger === sdk.log];
    `);
    expect(result).toEqual([true, 'v', 2, true, true]);
  });

  it('makes RFC 4122 v4 UUIDs and fills integer arrays from host randomness', async () => {
    const result = await rt.run(`
      const a = new Uint8Array(4);
      crypto.getRandomValues(a);
      let float; try { crypto.getRandomValues(new Float64Array(1)); } catch (e) { float = e.name; }
      let big; try { crypto.getRandomValues(new Uint8Array(65537)); } catch (e) { big = e.name; }
      return [crypto.randomUUID(), Array.from(a), float, big];
    `);
    expect(result).toEqual(['07070707-0707-4707-8707-070707070707', [7, 7, 7, 7], 'TypeMismatchError', 'QuotaExceededError']);
  });

  it('turns fetch and sdk calls into JSON host calls', async () => {
    await rt.run(`
      fetch(new URL('https://api.example.com/x?y=1'), { method: 'post', headers: { 'X-Key': 'k' }, body: { a: 1 } });
      sdk.http.get('https://api.example.com/items', { query: { page: 2 }, headers: { Accept: 'application/json' }, timeout: 500 });
      sdk.http.post('https://api.example.com/items', { name: 'n' });
      sdk.cache.set('k', { v: 1 }, 60);
      sdk.cache.increment('count');
      events.publish('order.created', { id: 1 });
    `);
    expect(rt.hostCalls.map(({ op, args }) => ({ op, args }))).toEqual([
      {
        op: 'fetch',
        args: [
          'https://api.example.com/x?y=1',
          { method: 'POST', headers: { 'content-type': 'application/json', 'x-key': 'k' }, body: '{"a":1}' },
        ],
      },
      {
        op: 'http.request',
        args: [
          {
            method: 'GET',
            url: 'https://api.example.com/items',
            headers: { Accept: 'application/json' },
            query: { page: 2 },
            timeout: 500,
          },
        ],
      },
      { op: 'http.request', args: [{ method: 'POST', url: 'https://api.example.com/items', body: { name: 'n' } }] },
      { op: 'cache.set', args: ['k', { v: 1 }, 60] },
      { op: 'cache.increment', args: ['count', 1] },
      { op: 'events.publish', args: ['order.created', { id: 1 }] },
    ]);
  });

  it('offers case-insensitive Headers', async () => {
    const result = await rt.run(`
      const h = new Headers([['Content-Type', 'text/plain'], ['X-A', '1']]);
      h.append('x-a', '2');
      let bad; try { h.set('bad name', 'x'); } catch (e) { bad = e.name; }
      return [h.get('content-type'), h.get('X-A'), h.has('x-b'), [...h.keys()], bad];
    `);
    expect(result).toEqual(['text/plain', '1, 2', false, ['content-type', 'x-a'], 'TypeError']);
  });
});

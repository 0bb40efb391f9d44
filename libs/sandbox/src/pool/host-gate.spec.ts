import { HostGate } from './host-gate';

describe('HostGate', () => {
  it('passes JSON arguments to the host and its JSON result back', async () => {
    const seen: unknown[] = [];
    const gate = new HostGate((op, args) => {
      seen.push([op, args]);
      return Promise.resolve({ ok: true });
    }, 5);
    expect(await gate.call('cache.get', '["k"]')).toEqual({ ok: true, payload: '{"ok":true}' });
    expect(seen).toEqual([['cache.get', ['k']]]);
  });

  it('caps outbound requests (fetch and http.request together) but not other calls', async () => {
    const gate = new HostGate(() => Promise.resolve(undefined), 2);
    const replies = [];
    for (const op of ['fetch', 'cache.get', 'http.request', 'fetch', 'events.publish']) replies.push(await gate.call(op, '[]'));
    expect(replies).toEqual([
      { ok: true, payload: 'null' },
      { ok: true, payload: 'null' },
      { ok: true, payload: 'null' },
      { ok: false, payload: 'Outbound request limit reached (2 per execution)' },
      { ok: true, payload: 'null' },
    ]);
    expect(gate.requestCount).toBe(2);
  });

  it('turns host errors and a missing host into rejections', async () => {
    expect(await new HostGate(() => Promise.reject(new Error('nope')), 5).call('cache.get', '[]')).toEqual({ ok: false, payload: 'nope' });
    expect(await new HostGate(undefined, 5).call('fetch', '[]')).toEqual({ ok: false, payload: expect.stringContaining('not available') });
    expect(await new HostGate(() => Promise.resolve(1), 5).call('x', '{}')).toEqual({ ok: false, payload: 'x: malformed arguments' });
  });
});

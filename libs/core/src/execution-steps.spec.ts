import { hasWarnings, hostCallStep, redactUrl } from './execution-steps';

describe('execution steps', () => {
  const at = new Date('2026-01-02T03:04:05.678Z');

  it('records an HTTP call without query string, userinfo, headers or body, with sizes and status', () => {
    const args = ['https://user:pw@api.example.com/v1/items?token=secret#frag', { method: 'post', headers: { authorization: 'Bearer secret' }, body: '{"a":1}' }];
    const step = hostCallStep('fetch', args, { ok: true, value: { status: 201, body: 'ok' } }, at, 12.4);
    expect(step).toEqual({
      op: 'fetch',
      target: 'POST https://api.example.com/v1/items',
      status: 'ok',
      startedAt: '2026-01-02T03:04:05.678Z',
      durationMs: 12,
      requestBytes: Buffer.byteLength(JSON.stringify(args)),
      responseBytes: Buffer.byteLength('{"status":201,"body":"ok"}'),
      httpStatus: 201,
    });
    expect(JSON.stringify(step)).not.toContain('secret');
  });

  it('records sdk.http, cache and events targets, and failures with the message the script saw', () => {
    expect(hostCallStep('http.request', [{ method: 'GET', url: 'http://h/x?y=1' }], { ok: true, value: { status: 404 } }, at, 1)).toMatchObject({ target: 'GET http://h/x', httpStatus: 404 });
    expect(hostCallStep('cache.get', ['k1'], { ok: true, value: null }, at, 1)).toMatchObject({ target: 'k1', requestBytes: 6, responseBytes: 0 });
    expect(hostCallStep('events.publish', ['order.created', { id: 1 }], { ok: true, value: true }, at, 1).target).toBe('order.created');
    expect(hostCallStep('fetch', ['http://h/'], { ok: false, error: 'refused' }, at, 1)).toMatchObject({ status: 'error', error: 'refused', responseBytes: 0 });
    expect(hostCallStep('mystery', [], { ok: true, value: 1 }, at, 1).target).toBeNull();
  });

  it('redacts unparsable URLs at the first ? or #', () => {
    expect(redactUrl('not a url?key=1')).toBe('not a url');
  });

  it('says "completed with warnings" for warn/error log lines or a failed step, only when completed', () => {
    const logs = [{ level: 'log', message: 'x' }];
    expect(hasWarnings({ status: 'completed', logs, steps: null })).toBe(false);
    expect(hasWarnings({ status: 'completed', logs: [...logs, { level: 'warn', message: 'w' }], steps: null })).toBe(true);
    expect(hasWarnings({ status: 'completed', logs, steps: [{ status: 'error' }] })).toBe(true);
    expect(hasWarnings({ status: 'failed', logs: [{ level: 'error', message: 'e' }], steps: null })).toBe(false);
  });
});

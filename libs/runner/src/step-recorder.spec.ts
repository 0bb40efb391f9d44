import { StepRecorder } from './step-recorder';

describe('StepRecorder', () => {
  it('records each host call in order, passes values and errors through, and stops at its limit', async () => {
    const recorder = new StepRecorder((op, args) => (op === 'fetch' ? Promise.reject(new Error(`refused ${String(args[0])}`)) : Promise.resolve({ status: 200 })), 2);
    await expect(recorder.call('http.request', [{ method: 'GET', url: 'https://a/x?k=1' }])).resolves.toEqual({ status: 200 });
    await expect(recorder.call('fetch', ['https://b/'])).rejects.toThrow('refused https://b/');
    await recorder.call('cache.get', ['k']);
    expect(recorder.steps.map((s) => [s.op, s.target, s.status, s.httpStatus, s.error])).toEqual([
      ['http.request', 'GET https://a/x', 'ok', 200, undefined],
      ['fetch', 'GET https://b/', 'error', undefined, 'refused https://b/'],
    ]);
  });
});

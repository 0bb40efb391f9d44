import type { WireOutcome } from '../protocol/ipc.types';
import { attributeDeath, outcomeFromWire, type DyingRun } from './run-outcome';

const run = (overrides: Partial<DyingRun> = {}): DyingRun => ({
  timeoutMs: 1000,
  memoryMb: 16,
  watchdogFired: false,
  cancelRequested: false,
  ...overrides,
});

describe('attributeDeath', () => {
  it('blames memory when the child was running one script alone', () => {
    expect(attributeDeath([run()], false)).toEqual([
      { status: 'failed', error: { code: 'MEMORY_LIMIT', message: expect.stringContaining('16 MB') } },
    ]);
  });

  it('retries everyone when several scripts were in flight', () => {
    expect(attributeDeath([run(), run()], false).map((r) => r.status)).toEqual(['crashed', 'crashed']);
  });

  it('reports kills the pool ordered for what they were', () => {
    const results = attributeDeath([run({ watchdogFired: true }), run({ cancelRequested: true }), run()], false);
    expect(results).toEqual([
      { status: 'failed', error: { code: 'TIMEOUT', message: 'Script exceeded the time limit of 1000 ms' } },
      { status: 'cancelled' },
      { status: 'crashed', message: expect.any(String) },
    ]);
  });

  it('does not blame a lone script for a kill the pool ordered elsewhere', () => {
    expect(attributeDeath([run({ watchdogFired: true })], false)[0]).toMatchObject({ error: { code: 'TIMEOUT' } });
  });

  it('calls runs cut off by close crashed', () => {
    expect(attributeDeath([run()], true)).toEqual([{ status: 'crashed', message: expect.stringContaining('closed') }]);
  });
});

describe('outcomeFromWire', () => {
  const base = { logs: [{ level: 'log', message: 'm', time: 't' }, { level: 'bogus' }], logsTruncated: false, durationMs: 3 };

  it('parses output JSON and drops malformed log entries', () => {
    const outcome = outcomeFromWire({ status: 'completed', outputJson: '{"a":1}', ...base } as WireOutcome, 9);
    expect(outcome).toEqual({
      status: 'completed',
      output: { a: 1 },
      logs: [{ level: 'log', message: 'm', time: 't' }],
      logsTruncated: false,
      durationMs: 3,
    });
  });

  it('refuses what a child may not claim', () => {
    const forged = { status: 'failed', error: { code: 'WORKER_LOST', message: 'x' }, ...base } as unknown as WireOutcome;
    expect(outcomeFromWire(forged, 9)).toMatchObject({ status: 'crashed' });
    expect(outcomeFromWire({ status: 'completed', outputJson: '{', ...base } as WireOutcome, 9)).toMatchObject({
      status: 'failed',
      error: { code: 'INVALID_OUTPUT' },
    });
  });

  it('keeps only the approval fields', () => {
    const outcome = outcomeFromWire({ status: 'suspended', approvalJson: '{"rows":[1],"extra":true}', ...base } as WireOutcome, 9);
    expect(outcome).toMatchObject({ status: 'suspended', approval: { rows: [1], metadata: null, displayFields: null } });
  });
});

import { parseTrace, RUN_STEPS, runTimelines, summarise } from '../src/step-trace-report';

// Two processes' trace files, as the apps write them (see @kiln/observability step-trace).
// lateMs: how much later than usual the run's end comes (a slow step before it).
function gatewayLines(id: string, t0: number, lateMs = 0): string {
  return [
    `${t0} gateway.received -`,
    `${t0 + 0.4} gateway.admitted ${id}`,
    `${t0 + 0.7} gateway.inserted ${id}`,
    `${t0 + 0.9} gateway.enqueued ${id}`,
    `${t0 + lateMs + 3.0} gateway.signalled ${id}`,
    `${t0 + lateMs + 3.1} gateway.answered -`,
  ].join('\n');
}

function workerLines(id: string, t0: number, sandboxMs: number, lateMs = 0): string {
  return [
    `${t0 + 1.0} worker.taken ${id}`,
    `${t0 + 1.2} worker.tenant-slot ${id}`,
    `${t0 + 1.6} worker.claimed ${id}`,
    `${t0 + 1.6 + sandboxMs} worker.sandboxed ${id}`,
    `${t0 + lateMs + 2.8} worker.finished ${id}`,
  ].join('\n');
}

describe('step trace report', () => {
  it('parses lines and skips garbage', () => {
    expect(parseTrace('12.5 gateway.received -\nnot a line\n13 worker.taken abc\n')).toEqual([
      { at: 12.5, step: 'gateway.received', executionId: null },
      { at: 13, step: 'worker.taken', executionId: 'abc' },
    ]);
  });

  it('gives each run its own received/answered and the medians of every step', () => {
    const gateway = parseTrace(`${gatewayLines('a', 1000)}\n${gatewayLines('b', 2000)}\n${gatewayLines('c', 3000)}`);
    // A request that is not a run (no admitted line) must not be taken for one.
    gateway.splice(3, 0, { at: 1000.8, step: 'gateway.received', executionId: null }, { at: 1000.85, step: 'gateway.answered', executionId: null });
    const worker = parseTrace(`${workerLines('a', 1000, 0.5)}\n${workerLines('b', 2000, 0.7)}\n${workerLines('c', 3000, 0.9)}`);
    const runs = runTimelines([gateway, worker]);
    expect(runs.get('a')?.get('gateway.received')).toBe(1000);
    expect(runs.get('a')?.get('gateway.answered')).toBeCloseTo(1003.1, 6);

    const report = summarise(runs, { from: 0, to: 10_000 });
    expect(report?.runs).toBe(3);
    const byLabel = Object.fromEntries((report?.steps ?? []).map((s) => [s.label, s.p50Ms]));
    expect(byLabel[RUN_STEPS[0].label]).toBeCloseTo(0.4, 6);
    expect(byLabel[RUN_STEPS[5].label]).toBeCloseTo(0.7, 6); // the median sandbox time of 0.5, 0.7, 0.9
    expect(report?.totalP50Ms).toBeCloseTo(3.1, 6);
  });

  it('puts the tail on the step that caused it: p99 per step and the slowest runs\' means', () => {
    // 197 runs with a 0.5 ms sandbox, then three whose sandbox took 20.5 ms: p99 (the 198th of 200) is one of them, the slowest 1 % two.
    const ids = Array.from({ length: 200 }, (_, i) => `r${i}`);
    const late = (i: number) => (i >= 197 ? 20 : 0);
    const gateway = parseTrace(ids.map((id, i) => gatewayLines(id, 1000 + i * 100, late(i))).join('\n'));
    const worker = parseTrace(ids.map((id, i) => workerLines(id, 1000 + i * 100, 0.5 + late(i), late(i))).join('\n'));

    const report = summarise(runTimelines([gateway, worker]), { from: 0, to: 100_000 });
    expect(report?.runs).toBe(200);
    expect(report?.slowestRuns).toBe(2);
    expect(report?.totalP50Ms).toBeCloseTo(3.1, 6);
    expect(report?.totalP99Ms).toBeCloseTo(23.1, 6);
    expect(report?.slowestMeanMs).toBeCloseTo(23.1, 6);
    const sandbox = report?.steps.find((s) => s.label === RUN_STEPS[5].label);
    const gatewayStep = report?.steps.find((s) => s.label === RUN_STEPS[0].label);
    expect(sandbox).toMatchObject({ p50Ms: 0.5 });
    expect(sandbox?.slowestMeanMs).toBeCloseTo(20.5, 6);
    expect(sandbox?.p99Ms).toBeCloseTo(20.5, 6);
    expect(gatewayStep?.slowestMeanMs).toBeCloseTo(0.4, 6);
  });

  it('counts only complete runs that started inside the window', () => {
    const gateway = parseTrace(`${gatewayLines('a', 1000)}\n${gatewayLines('b', 2000)}`);
    const worker = parseTrace(workerLines('a', 1000, 0.5)); // b never reached a worker
    expect(summarise(runTimelines([gateway, worker]), { from: 0, to: 10_000 })?.runs).toBe(1);
    expect(summarise(runTimelines([gateway, worker]), { from: 1500, to: 10_000 })).toBeNull();
  });
});

import { executionStats, expectCompleted, profiled, runRequest, type BenchContext, type ExecutionWindowStats } from '../context';
import { runLoad } from '../load';
import { say } from '../log';
import { readStepTrace, type StepTraceReport } from '../step-trace-report';
import { loadSummary, type LoadSummary } from './floor';

export interface SyncResults {
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  requests: number;
  errors: number;
  load: LoadSummary;
  /** The same runs seen from the database: how much of the latency is queue, sandbox, recording. */
  executions: ExecutionWindowStats;
  /** With --trace: where a run's milliseconds go, step by step across the processes. */
  steps?: StepTraceReport | null;
}

/** Wait mode, one connection: the latency a caller sees for one run. */
export async function syncScenario(ctx: BenchContext, script = 'sync'): Promise<SyncResults> {
  const s = ctx.settings;
  say(`scenario sync: 1 connection, ${s.syncRequests} wait-mode runs of '${script}' (after ${s.syncWarmupRequests} warm-up runs)`);
  const load = await profiled(ctx, 'sync', () =>
    runLoad({
      label: 'sync',
      url: ctx.stack.url,
      connections: 1,
      warmupRequests: s.syncWarmupRequests,
      requests: s.syncRequests,
      request: () => runRequest(ctx, script, { wait: true }),
      check: expectCompleted,
    }),
  );
  const executions = await executionStats(ctx, (ctx.tenant.scripts[script] as { id: string }).id, load.windowStart, load.windowEnd + 1);
  say(`  sync: p50 ${load.latency.p50Ms} ms, p90 ${load.latency.p90Ms} ms, p99 ${load.latency.p99Ms} ms, errors ${load.errors}`);
  const traceDir = ctx.stack.options.traceDir;
  const steps = traceDir ? await collectSteps(traceDir, { from: load.windowStart - 1, to: load.windowEnd + 1 }, load.requests) : undefined;
  return {
    p50Ms: load.latency.p50Ms,
    p90Ms: load.latency.p90Ms,
    p99Ms: load.latency.p99Ms,
    requests: load.requests,
    errors: load.errors,
    load: loadSummary(load),
    executions,
    ...(steps !== undefined ? { steps } : {}),
  };
}

/** The apps flush their step timestamps every 250 ms: read until every measured run is there (or 3 s passed). */
async function collectSteps(dir: string, window: { from: number; to: number }, runs: number): Promise<StepTraceReport | null> {
  let report: StepTraceReport | null = null;
  for (let waited = 0; waited <= 3000; waited += 250) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    report = readStepTrace(dir, window);
    if (report && report.runs >= runs) break;
  }
  if (!report) {
    say('  sync steps: no complete run in the trace');
    return null;
  }
  say(`  sync steps (median of ${report.runs} runs; received → answered ${report.totalP50Ms} ms):`);
  for (const step of report.steps) say(`    ${step.p50Ms.toFixed(3).padStart(7)} ms  ${step.label}`);
  return report;
}

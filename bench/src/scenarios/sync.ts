import { executionStats, expectCompleted, profiled, runRequest, type BenchContext, type ExecutionWindowStats } from '../context';
import { runLoad } from '../load';
import { round, say } from '../log';
import { measureProcessCosts, type ProcessCost } from '../process-costs';
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
  /**
   * CPU milliseconds and read/write system calls of each process per
   * measured run; `cpuMsPerRun` is their CPU summed. At one connection little
   * overlaps, so a sum near p50 says the latency is work, not waiting.
   */
  cpuMsPerRun: number;
  perProcess: Record<string, ProcessCost>;
  /** With --trace: where a run's milliseconds go, step by step across the processes. */
  steps?: StepTraceReport | null;
}

export interface WaitModeRuns {
  /** The scenario's name (log lines, --profile) and the script it runs. */
  scenario: string;
  script: string;
  requests: number;
  warmupRequests: number;
}

/** Wait mode, one connection: the latency a caller sees for one run. */
export async function syncScenario(ctx: BenchContext, runs?: WaitModeRuns): Promise<SyncResults> {
  const s = ctx.settings;
  const { scenario: label, script, requests, warmupRequests } = runs ?? { scenario: 'sync', script: 'sync', requests: s.syncRequests, warmupRequests: s.syncWarmupRequests };
  say(`scenario ${label}: 1 connection, ${requests} wait-mode runs of '${script}' (after ${warmupRequests} warm-up runs)`);
  const request = () => runRequest(ctx, script, { wait: true });
  await runLoad({ label: `${label} warm-up`, url: ctx.stack.url, connections: 1, requests: warmupRequests, request, check: expectCompleted });
  const processCosts = await measureProcessCosts(ctx);
  const load = await profiled(ctx, label, () =>
    runLoad({ label, url: ctx.stack.url, connections: 1, requests, request, check: expectCompleted }),
  );
  const perProcess = await processCosts(load.requests);
  const cpuMsPerRun = round(Object.values(perProcess).reduce((sum, cost) => sum + cost.cpuMs, 0), 3);
  const executions = await executionStats(ctx, (ctx.tenant.scripts[script] as { id: string }).id, load.windowStart, load.windowEnd + 1);
  say(`  ${label}: p50 ${load.latency.p50Ms} ms, p90 ${load.latency.p90Ms} ms, p99 ${load.latency.p99Ms} ms, errors ${load.errors}`);
  say(`  ${label}: per run, CPU ms ${cpuMsPerRun.toFixed(2)} and write system calls: ${describePerProcess(perProcess)}`);
  const traceDir = ctx.stack.options.traceDir;
  const steps = traceDir && label === 'sync' ? await collectSteps(traceDir, { from: load.windowStart - 1, to: load.windowEnd + 1 }, load.requests) : undefined;
  return {
    p50Ms: load.latency.p50Ms,
    p90Ms: load.latency.p90Ms,
    p99Ms: load.latency.p99Ms,
    requests: load.requests,
    errors: load.errors,
    load: loadSummary(load),
    executions,
    cpuMsPerRun,
    perProcess,
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
  say(
    `  sync steps over ${report.runs} runs (received → answered p50 ${report.totalP50Ms} ms, p99 ${report.totalP99Ms} ms; ` +
      `slowest ${report.slowestRuns} runs ${report.slowestMeanMs} ms on average):`,
  );
  say(`    ${'p50'.padStart(7)}    ${'p99'.padStart(7)}    ${'slowest'.padStart(7)}`);
  for (const step of report.steps) {
    const cells = [step.p50Ms, step.p99Ms, step.slowestMeanMs].map((ms) => `${ms.toFixed(3).padStart(7)} ms`).join(' ');
    say(`    ${cells}  ${step.label}`);
  }
  return report;
}

function describePerProcess(perProcess: Record<string, ProcessCost>): string {
  return Object.entries(perProcess)
    .filter(([, cost]) => cost.cpuMs >= 0.005)
    .sort((a, b) => b[1].cpuMs - a[1].cpuMs)
    .map(([label, cost]) => `${label} ${cost.cpuMs.toFixed(2)} ms / ${cost.writeSyscalls.toFixed(1)}`)
    .join(', ');
}

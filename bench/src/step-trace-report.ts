import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** One wait-mode run's path, in causal order: what `--trace` reports on, step by step. */
export const RUN_STEPS = [
  { from: 'gateway.received', to: 'gateway.admitted', label: 'gateway: HTTP, key, rate limit, backpressure, quotas' },
  { from: 'gateway.admitted', to: 'gateway.inserted', label: 'gateway → PostgreSQL: INSERT' },
  { from: 'gateway.inserted', to: 'worker.taken', label: 'gateway → Redis: BullMQ add; worker takes the job' },
  { from: 'worker.taken', to: 'worker.tenant-slot', label: 'worker: run slot, tenant slot (Redis)' },
  { from: 'worker.tenant-slot', to: 'worker.claimed', label: 'worker → PostgreSQL: claim' },
  { from: 'worker.claimed', to: 'worker.sandboxed', label: 'sandbox: IPC, context, run, IPC back' },
  { from: 'worker.sandboxed', to: 'worker.finished', label: 'worker → PostgreSQL: finish (durable)' },
  { from: 'worker.finished', to: 'gateway.signalled', label: 'done signal: worker → Redis → gateway' },
  { from: 'gateway.signalled', to: 'gateway.answered', label: 'gateway: answer' },
] as const;

export interface StepTiming {
  label: string;
  p50Ms: number;
  p99Ms: number;
  /**
   * The step's mean over the slowest 1 % of runs (by received → answered):
   * next to p50Ms, it says which steps a tail run lost its time in.
   */
  slowestMeanMs: number;
}

export interface StepTraceReport {
  /** Runs seen with every step. */
  runs: number;
  steps: StepTiming[];
  /** Median of received → answered (medians of steps need not add up to it). */
  totalP50Ms: number;
  totalP99Ms: number;
  /** How many runs make up the slowest 1 % (at least one). */
  slowestRuns: number;
  /** Mean received → answered of those runs. */
  slowestMeanMs: number;
}

interface TraceLine {
  at: number;
  step: string;
  executionId: string | null;
}

/** `<ms> <step> <executionId or ->` lines, one file per process (see @kiln/observability step-trace). */
export function parseTrace(text: string): TraceLine[] {
  const lines: TraceLine[] = [];
  for (const raw of text.split('\n')) {
    const [at, step, id] = raw.split(' ');
    const ms = Number(at);
    if (!step || !Number.isFinite(ms)) continue;
    lines.push({ at: ms, step, executionId: id && id !== '-' ? id : null });
  }
  return lines;
}

/**
 * Per run, the time of each step. A gateway's `received` and `answered`
 * carry no execution id (the HTTP hooks do not know it): a run gets the last
 * `received` of its gateway process before its `admitted`, and the first
 * `answered` after its `signalled`. Meant for one connection at a time.
 */
export function runTimelines(processes: TraceLine[][]): Map<string, Map<string, number>> {
  const runs = new Map<string, Map<string, number>>();
  const mark = (id: string, step: string, at: number) => {
    let steps = runs.get(id);
    if (!steps) runs.set(id, (steps = new Map<string, number>()));
    if (!steps.has(step)) steps.set(step, at);
  };
  for (const lines of processes) {
    let lastReceived: number | null = null;
    let waitingForAnswer: string | null = null;
    for (const line of lines) {
      if (line.step === 'gateway.received') lastReceived = line.at;
      else if (line.step === 'gateway.answered') {
        if (waitingForAnswer) mark(waitingForAnswer, line.step, line.at);
        waitingForAnswer = null;
      } else if (line.executionId) {
        mark(line.executionId, line.step, line.at);
        if (line.step === 'gateway.admitted' && lastReceived !== null) mark(line.executionId, 'gateway.received', lastReceived);
        if (line.step === 'gateway.signalled') waitingForAnswer = line.executionId;
      }
    }
  }
  return runs;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const value = sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return round3(value);
}

/** Nearest-rank percentile, as the load generator's histogram reports them. */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return round3(sorted[rank - 1] as number);
}

function mean(values: number[]): number {
  return round3(values.reduce((sum, v) => sum + v, 0) / values.length);
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/** Per step, median, p99 and the mean over the slowest 1 %, of the runs that have every step and started inside [from, to). */
export function summarise(runs: Map<string, Map<string, number>>, window: { from: number; to: number }): StepTraceReport | null {
  const complete = [...runs.values()].filter((steps) => {
    const received = steps.get('gateway.received');
    return received !== undefined && received >= window.from && received < window.to && RUN_STEPS.every((s) => steps.has(s.from) && steps.has(s.to));
  });
  if (complete.length === 0) return null;
  const span = (steps: Map<string, number>, from: string, to: string) => (steps.get(to) as number) - (steps.get(from) as number);
  const total = (steps: Map<string, number>) => span(steps, 'gateway.received', 'gateway.answered');
  const totals = complete.map(total);
  const slowest = [...complete].sort((a, b) => total(b) - total(a)).slice(0, Math.max(1, Math.floor(complete.length / 100)));
  return {
    runs: complete.length,
    steps: RUN_STEPS.map(({ from, to, label }) => {
      const spans = complete.map((steps) => span(steps, from, to));
      return { label, p50Ms: median(spans), p99Ms: percentile(spans, 99), slowestMeanMs: mean(slowest.map((steps) => span(steps, from, to))) };
    }),
    totalP50Ms: median(totals),
    totalP99Ms: percentile(totals, 99),
    slowestRuns: slowest.length,
    slowestMeanMs: mean(slowest.map(total)),
  };
}

/** Reads every process's trace file in `dir` and summarises the runs of the window. */
export function readStepTrace(dir: string, window: { from: number; to: number }): StepTraceReport | null {
  const files = readdirSync(dir).filter((name) => name.endsWith('.trace'));
  const processes = files.map((name) => parseTrace(readFileSync(path.join(dir, name), 'utf8')).sort((a, b) => a.at - b.at));
  return summarise(runTimelines(processes), window);
}

import type { FloorServer } from './floor/floor';
import { Histogram, type LatencySummary } from './histogram';
import { runLoad, type LoadRequest, type LoadResult } from './load';
import { round, say, sleep, until } from './log';
import type { BenchOptions, ModeSettings } from './options';
import { backendPids } from './pg-stats';
import { CpuMeter, descendants, type CpuUsage } from './proc-stats';
import type { Profiler } from './profiler';
import { EXPECTED_SUM, RUN_INPUT } from './scripts';
import type { BenchStack, BenchTenant } from './stack';

export interface BenchContext {
  options: BenchOptions;
  settings: ModeSettings;
  stack: BenchStack;
  tenant: BenchTenant;
  floor: FloorServer | null;
  redisPid: number | null;
  profiler: Profiler | null;
  /** Scenario name → its detailed record (goes into the JSON as `scenarios`). */
  scenarios: Record<string, unknown>;
  notes: string[];
}

export const RUN_BODY = JSON.stringify({ input: RUN_INPUT });
export const WAIT_BODY = JSON.stringify({ input: RUN_INPUT, wait: true });

export function runRequest(ctx: BenchContext, script: string, options: { wait?: boolean; body?: string } = {}): LoadRequest {
  const target = ctx.tenant.scripts[script];
  if (!target) throw new Error(`no bench script '${script}'`);
  return {
    method: 'POST',
    path: `/v1/scripts/${target.id}/runs`,
    headers: { authorization: `Bearer ${ctx.tenant.key}` },
    body: options.body ?? (options.wait ? WAIT_BODY : RUN_BODY),
  };
}

/** The floor gets the same body and the same headers. */
export function floorRequest(ctx: BenchContext, script: string): LoadRequest {
  return { method: 'POST', path: `/run/${script}`, headers: { authorization: `Bearer ${ctx.tenant.key}` }, body: RUN_BODY };
}

export function expectAccepted(status: number): string | null {
  return status === 202 ? null : `HTTP ${status} (expected 202)`;
}

/** A wait-mode answer (or the floor's) must be the finished execution with the right output. */
export function expectCompleted(status: number, body: string): string | null {
  if (status !== 200) return `HTTP ${status} (expected 200): ${body.slice(0, 120)}`;
  try {
    const parsed = JSON.parse(body) as { status?: string; output?: { sum?: number } };
    if (parsed.status !== 'completed') return `status ${parsed.status}`;
    if (parsed.output?.sum !== EXPECTED_SUM) return `output ${JSON.stringify(parsed.output)}`;
    return null;
  } catch {
    return 'body is not JSON';
  }
}

/** Runs one load under the apps' CPU profiler when --profile names it (or its scenario: `growth` covers `growth-…`). */
export async function profiled<T>(ctx: BenchContext, label: string, fn: () => Promise<T>): Promise<T> {
  const profiler = ctx.profiler;
  if (!profiler?.wants(label)) return fn();
  await profiler.start(label);
  try {
    return await fn();
  } finally {
    await profiler.stop(label);
  }
}

export function kilnPids(ctx: BenchContext): number[] {
  const pids = ctx.stack.runningPids();
  return [...pids, ...pids.flatMap((pid) => descendants(pid))];
}

/** pid → app label (gateway, worker-1, notifier) of the running Kiln processes. */
export function kilnProcessLabels(ctx: BenchContext): Map<number, string> {
  return new Map(ctx.stack.apps.filter((a) => !a.hasExited).map((a) => [a.pid, a.label]));
}

/** Starts measuring who uses the CPU; call the returned function at the end of the window. */
export async function startCpu(ctx: BenchContext): Promise<() => Promise<CpuUsage | null>> {
  let postgres = await backendPids(ctx.stack);
  const groups = () => ({
    kiln: kilnPids(ctx),
    floor: ctx.floor ? [ctx.floor.pid] : [],
    loadGenerator: [process.pid],
    postgres,
    redis: ctx.redisPid ? [ctx.redisPid] : [],
  });
  const meter = new CpuMeter(groups);
  return async () => {
    postgres = [...new Set([...postgres, ...(await backendPids(ctx.stack))])];
    return meter.finish();
  };
}

export function describeCpu(cpu: CpuUsage | null): string {
  if (!cpu) return 'cpu: n/a';
  const parts = Object.entries(cpu)
    .filter(([k, v]) => k !== 'cores' && v >= 0.01)
    .map(([k, v]) => `${k} ${v.toFixed(2)}`);
  return `cores used: ${parts.join(', ')} (of ${cpu.cores})`;
}

export interface ExecutionWindowStats {
  completed: number;
  failed: number;
  completedPerSec: number;
  e2eMs: { p50: number | null; p90: number | null; p99: number | null };
  /** Where the time went, medians: created → started (queue), the sandbox run, started → finished. */
  phasesP50Ms: { queueWait: number | null; sandbox: number | null; startToFinish: number | null };
}

/**
 * Executions of one script that finished inside [from, to), from the
 * database (not from the 202s): throughput and end-to-end latency
 * (createdAt → finishedAt).
 */
export async function executionStats(ctx: BenchContext, scriptId: string, from: number, to: number): Promise<ExecutionWindowStats> {
  const rows = await ctx.stack.query<{
    completed: number;
    failed: number;
    e2e: number[] | null;
    queue_wait: number | null;
    sandbox: number | null;
    start_to_finish: number | null;
  }>(
    `SELECT count(*) FILTER (WHERE status = 'completed')::int AS completed,
            count(*) FILTER (WHERE status = 'failed')::int AS failed,
            percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - created_at) * 1000) AS e2e,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY queue_wait_ms) AS queue_wait,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) AS sandbox,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at) * 1000) AS start_to_finish
       FROM executions
      WHERE tenant_id = $4::uuid AND script_id = $1::uuid AND finished_at >= to_timestamp($2 / 1000.0) AND finished_at < to_timestamp($3 / 1000.0)`,
    [scriptId, from, to, ctx.tenant.id],
  );
  const r = rows[0];
  const seconds = (to - from) / 1000;
  const e2e = r?.e2e ?? null;
  const num = (v: number | null | undefined) => (v === null || v === undefined ? null : round(Number(v), 1));
  return {
    completed: r?.completed ?? 0,
    failed: r?.failed ?? 0,
    completedPerSec: round((r?.completed ?? 0) / seconds, 1),
    e2eMs: { p50: num(e2e?.[0]), p90: num(e2e?.[1]), p99: num(e2e?.[2]) },
    phasesP50Ms: { queueWait: num(r?.queue_wait), sandbox: num(r?.sandbox), startToFinish: num(r?.start_to_finish) },
  };
}

export async function unfinished(ctx: BenchContext, scriptId: string): Promise<number> {
  const rows = await ctx.stack.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM executions WHERE tenant_id = $2::uuid AND script_id = $1::uuid AND status IN ('pending', 'running')`,
    [scriptId, ctx.tenant.id],
  );
  return rows[0]?.n ?? 0;
}

export interface SettleReport {
  backlogAtEnd: number;
  drainedNaturally: boolean;
  drainSeconds: number;
  discarded: number;
}

/**
 * After a time-boxed async window the queue may hold a backlog (accepted
 * faster than completed). Give it `drainMaxMs` to finish; then discard the
 * rest (waiting jobs removed, their rows marked cancelled) so the next
 * scenario starts on an idle system.
 */
export async function settle(ctx: BenchContext, scriptId: string): Promise<SettleReport> {
  const t0 = Date.now();
  const backlogAtEnd = await unfinished(ctx, scriptId);
  if (backlogAtEnd === 0) return { backlogAtEnd, drainedNaturally: true, drainSeconds: 0, discarded: 0 };
  const drained = await until(async () => (await unfinished(ctx, scriptId)) === 0, ctx.settings.drainMaxMs, 250);
  if (drained) return { backlogAtEnd, drainedNaturally: true, drainSeconds: round((Date.now() - t0) / 1000, 1), discarded: 0 };
  await ctx.stack.queue.drain();
  const cancelled = await ctx.stack.query<{ n: number }>(
    // SKIP LOCKED: a row a worker is claiming right now is left to run (the wait below sees it finish);
    // locking the rest in id order never deadlocks with the worker's multi-row claims.
    `WITH p AS (SELECT id FROM executions WHERE tenant_id = $2::uuid AND script_id = $1::uuid AND status = 'pending' ORDER BY id FOR UPDATE SKIP LOCKED),
          c AS (UPDATE executions e SET status = 'cancelled', finished_at = now(), error = '{"code":"BENCH_DISCARDED","message":"backlog discarded by the benchmark"}'::jsonb
                 FROM p WHERE e.id = p.id RETURNING 1)
     SELECT count(*)::int AS n FROM c`,
    [scriptId, ctx.tenant.id],
  );
  await until(async () => (await unfinished(ctx, scriptId)) === 0, 30_000, 250);
  const discarded = cancelled[0]?.n ?? 0;
  say(`  backlog of ${backlogAtEnd} did not finish within ${ctx.settings.drainMaxMs / 1000} s; discarded ${discarded} waiting runs`);
  return { backlogAtEnd, drainedNaturally: false, drainSeconds: round((Date.now() - t0) / 1000, 1), discarded };
}

export interface AsyncWindowResult {
  label: string;
  connections: number;
  durationSec: number;
  acceptedPerSec: number;
  acceptLatency: LatencySummary;
  errors: number;
  errorSamples: string[];
  statuses: Record<string, number>;
  executions: ExecutionWindowStats;
  settle: SettleReport;
  cpu: CpuUsage | null;
  /** Epoch ms bounds of the measured window. */
  windowStart: number;
  windowEnd: number;
}

/** Fire-and-forget runs of one script on `connections` connections for `durationMs`, counted from the database. */
export async function asyncWindow(
  ctx: BenchContext,
  label: string,
  script: string,
  durationMs: number,
  options: { body?: string; beforeSettle?: (load: LoadResult) => Promise<void> } = {},
): Promise<AsyncWindowResult> {
  const scriptId = (ctx.tenant.scripts[script] as { id: string }).id;
  say(`scenario ${label}: ${(durationMs / 1000).toFixed(0)} s, ${ctx.settings.connections} connections, async runs of '${script}'`);
  const finishCpu = await startCpu(ctx);
  const load = await profiled(ctx, label, () =>
    runLoad({
      label,
      url: ctx.stack.url,
      connections: ctx.settings.connections,
      warmupMs: ctx.settings.warmupMs,
      durationMs,
      request: () => runRequest(ctx, script, { body: options.body }),
      check: expectAccepted,
    }),
  );
  const cpu = await finishCpu();
  if (options.beforeSettle) await options.beforeSettle(load);
  const settled = await settle(ctx, scriptId);
  const executions = await executionStats(ctx, scriptId, load.windowStart, load.windowEnd);
  const result: AsyncWindowResult = {
    label,
    connections: load.connections,
    durationSec: load.durationSec,
    acceptedPerSec: round((load.statuses['202'] ?? 0) / load.durationSec, 1),
    acceptLatency: load.latency,
    errors: load.errors,
    errorSamples: load.errorSamples,
    statuses: load.statuses,
    executions,
    settle: settled,
    cpu,
    windowStart: load.windowStart,
    windowEnd: load.windowEnd,
  };
  say(
    `  ${label}: accepted ${result.acceptedPerSec}/s, completed ${executions.completedPerSec}/s (database), ` +
      `e2e p50 ${executions.e2eMs.p50} ms p99 ${executions.e2eMs.p99} ms, errors ${load.errors}; ${describeCpu(cpu)}`,
  );
  return result;
}

export { Histogram, sleep };

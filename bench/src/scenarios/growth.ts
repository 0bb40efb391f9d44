import { describeCpu, expectAccepted, profiled, startCpu, type BenchContext } from '../context';
import { runLoad } from '../load';
import { round, say, until } from '../log';
import type { CpuUsage } from '../proc-stats';
import { seedHistory, seedWaitingRuns } from '../seed';

export interface GrowthPoint {
  executionsRows: number;
  waitingJobs: number;
  /** Rows of the script whose list is measured. */
  listScriptRows: number;
  acceptedPerSec: number;
  acceptP50Ms: number;
  acceptP99Ms: number;
  listP50Ms: number;
  listP99Ms: number;
  errors: number;
  /** Who used the CPU during the accept window and during the list requests. */
  cpu: CpuUsage | null;
  listCpu: CpuUsage | null;
}

export interface RetentionRun {
  status: 'measured' | 'skipped';
  note: string;
  days?: number;
  eligibleRows?: number;
  purgedInWindow?: number;
  purgedPerSec?: number;
  remainingEligible?: number;
  acceptedPerSec?: number;
  acceptP99Ms?: number;
  /** accepted/s while the purge runs ÷ accepted/s on the grown system without it. */
  acceptedVsGrown?: number;
}

export interface GrowthResults {
  definition: string;
  rows: number;
  waitingJobs: number;
  seedSeconds: number;
  empty: GrowthPoint;
  grown: GrowthPoint;
  /** grown ÷ empty (the target: accepted/s ≥ 0.8, list p99 ≤ 1.2). */
  acceptedPerSecRatio: number;
  listP99Ratio: number;
  retention: RetentionRun;
}

const LIST_PAGE = 20;
const RETENTION_DAYS = 30;

export const GROWTH_DEFINITION =
  'The executions queue is paused for the whole scenario, so that "waiting" means jobs sitting in the BullMQ wait list ' +
  'and no worker competes for the CPU: accepted/s then measures what the write path (INSERT into executions, job add) ' +
  'costs with an empty table and queue versus a full one. Empty: executions truncated, 100 rows on the listed script. ' +
  'Grown: history rows over 90 days (20 % on the bench tenant, half of those on the listed script) plus pending rows ' +
  'whose jobs wait in the queue; VACUUM ANALYZE afterwards, as autovacuum would have done. At both points the list is ' +
  'measured after the accept window and an ANALYZE of what it added.';

/** Jobs waiting in the executions queue, paused or not (BullMQ keeps them in `wait`, `paused` or `prioritized`). */
async function waitingJobs(ctx: BenchContext): Promise<number> {
  const base = `${ctx.stack.options.redisPrefix}:executions:`;
  const [wait, paused, prioritized] = await Promise.all([ctx.stack.redis.llen(`${base}wait`), ctx.stack.redis.llen(`${base}paused`), ctx.stack.redis.zcard(`${base}prioritized`)]);
  return wait + paused + prioritized;
}

async function tableFigures(ctx: BenchContext, listScriptId: string): Promise<{ rows: number; listRows: number; waiting: number }> {
  const [rows, listRows, waiting] = await Promise.all([
    ctx.stack.query<{ n: number }>('SELECT count(*)::int AS n FROM executions'),
    ctx.stack.query<{ n: number }>('SELECT count(*)::int AS n FROM executions WHERE tenant_id = $1::uuid AND script_id = $2::uuid', [ctx.tenant.id, listScriptId]),
    waitingJobs(ctx),
  ]);
  return { rows: rows[0]?.n ?? 0, listRows: listRows[0]?.n ?? 0, waiting };
}

async function acceptOnly(ctx: BenchContext, label: string): Promise<{ acceptedPerSec: number; p50: number; p99: number; errors: number; cpu: CpuUsage | null }> {
  const s = ctx.settings;
  const target = ctx.tenant.scripts.growth as { id: string };
  say(`scenario ${label}: ${s.growthAcceptMs / 1000} s, ${s.connections} connections, async runs into the paused queue`);
  const finishCpu = await startCpu(ctx);
  const load = await profiled(ctx, label, () =>
    runLoad({
      label,
      url: ctx.stack.url,
      connections: s.connections,
      warmupMs: Math.min(1000, s.warmupMs),
      durationMs: s.growthAcceptMs,
      request: () => ({ method: 'POST', path: `/v1/scripts/${target.id}/runs`, headers: { authorization: `Bearer ${ctx.tenant.key}` }, body: '{"input":{"a":2,"b":3}}' }),
      check: expectAccepted,
    }),
  );
  const cpu = await finishCpu();
  const acceptedPerSec = round((load.statuses['202'] ?? 0) / load.durationSec, 1);
  say(`  ${label}: accepted ${acceptedPerSec}/s, p50 ${load.latency.p50Ms} ms, p99 ${load.latency.p99Ms} ms; ${describeCpu(cpu)}`);
  return { acceptedPerSec, p50: load.latency.p50Ms, p99: load.latency.p99Ms, errors: load.errors, cpu };
}

async function listLatency(ctx: BenchContext, label: string, scriptId: string): Promise<{ p50: number; p99: number; errors: number; cpu: CpuUsage | null }> {
  const s = ctx.settings;
  say(`scenario ${label}: 1 connection, ${s.listRequests} × GET /v1/executions?scriptId=…&limit=${LIST_PAGE}`);
  const finishCpu = await startCpu(ctx);
  const load = await profiled(ctx, label, () =>
    runLoad({
      label,
      url: ctx.stack.url,
      connections: 1,
      warmupRequests: Math.min(50, s.listRequests),
      requests: s.listRequests,
      request: () => ({ method: 'GET', path: `/v1/executions?scriptId=${scriptId}&limit=${LIST_PAGE}`, headers: { authorization: `Bearer ${ctx.tenant.key}` } }),
    }),
  );
  const cpu = await finishCpu();
  say(`  ${label}: p50 ${load.latency.p50Ms} ms, p99 ${load.latency.p99Ms} ms; ${describeCpu(cpu)}`);
  return { p50: load.latency.p50Ms, p99: load.latency.p99Ms, errors: load.errors, cpu };
}

async function measurePoint(ctx: BenchContext, label: string, listScriptId: string): Promise<GrowthPoint> {
  const accept = await acceptOnly(ctx, `${label}-accept`);
  // The accept window just added tens of thousands of rows of another script:
  // autovacuum would analyze them within its next round (a minute); without
  // it the planner believes the listed script is still most of the table.
  await ctx.stack.query('ANALYZE executions');
  const list = await listLatency(ctx, `${label}-list`, listScriptId);
  const figures = await tableFigures(ctx, listScriptId);
  return {
    executionsRows: figures.rows,
    waitingJobs: figures.waiting,
    listScriptRows: figures.listRows,
    acceptedPerSec: accept.acceptedPerSec,
    acceptP50Ms: accept.p50,
    acceptP99Ms: accept.p99,
    listP50Ms: list.p50,
    listP99Ms: list.p99,
    errors: accept.errors + list.errors,
    cpu: accept.cpu,
    listCpu: list.cpu,
  };
}

async function eligibleForRetention(ctx: BenchContext): Promise<number> {
  const rows = await ctx.stack.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM executions WHERE status IN ('completed', 'failed', 'cancelled') AND created_at < now() - make_interval(days => $1)`,
    [RETENTION_DAYS],
  );
  return rows[0]?.n ?? 0;
}

async function retentionRun(ctx: BenchContext, grown: GrowthPoint): Promise<RetentionRun> {
  if (!ctx.settings.retention) return { status: 'skipped', note: `not run in ${ctx.settings.mode} mode` };
  const eligibleRows = await eligibleForRetention(ctx);
  say(`scenario retention: restarting the worker with KILN_EXECUTION_RETENTION_DAYS=${RETENTION_DAYS} (${eligibleRows.toLocaleString('en')} rows are older)`);
  for (const worker of ctx.stack.workers) await ctx.stack.stopApp(worker);
  await ctx.stack.startApp('worker', { KILN_EXECUTION_RETENTION_DAYS: String(RETENTION_DAYS) }, 'worker-retention');
  const started = await until(async () => (await eligibleForRetention(ctx)) < eligibleRows, 30_000, 500);
  if (!started) {
    const note = 'no purge started within 30 s of the worker start (KILN_EXECUTION_RETENTION_DAYS not supported by this build?)';
    say(`  retention: skipped, ${note}`);
    return { status: 'skipped', note, days: RETENTION_DAYS, eligibleRows };
  }
  const before = await eligibleForRetention(ctx);
  const t0 = Date.now();
  const accept = await acceptOnly(ctx, 'growth-during-purge');
  const after = await eligibleForRetention(ctx);
  const seconds = (Date.now() - t0) / 1000;
  const result: RetentionRun = {
    status: 'measured',
    note:
      after > 0
        ? 'the purge was still running at the end of the window'
        : 'the purge finished during the window (accepted/s covers part purge, part idle)',
    days: RETENTION_DAYS,
    eligibleRows,
    purgedInWindow: before - after,
    purgedPerSec: round((before - after) / seconds, 0),
    remainingEligible: after,
    acceptedPerSec: accept.acceptedPerSec,
    acceptP99Ms: accept.p99,
    acceptedVsGrown: round(accept.acceptedPerSec / Math.max(1e-9, grown.acceptedPerSec), 3),
  };
  say(`  retention: purged ${result.purgedPerSec} rows/s while accepting ${accept.acceptedPerSec}/s (${result.acceptedVsGrown} of the grown figure); ${result.note}`);
  return result;
}

/**
 * Flat cost as data grows: accepted/s and the execution list's p99 on an
 * empty system, then with `growthRows` executions rows and
 * `growthWaitingJobs` jobs waiting in the queue; then the retention purge
 * running underneath the same load.
 */
export async function growthScenario(ctx: BenchContext): Promise<GrowthResults> {
  const s = ctx.settings;
  const listScriptId = (ctx.tenant.scripts.list as { id: string }).id;
  say(`scenario growth: empty system vs ${s.growthRows.toLocaleString('en')} executions rows and ${s.growthWaitingJobs.toLocaleString('en')} waiting jobs`);
  await ctx.stack.queue.pause();
  await ctx.stack.queue.drain(true);
  await until(async () => (await ctx.stack.queue.getActiveCount()) === 0, 30_000, 200);
  await ctx.stack.query('TRUNCATE executions, idempotency_keys');
  await ctx.stack.query(
    `INSERT INTO executions (id, tenant_id, script_id, script_version, status, trigger, input, output, logs, attempts, timeout_ms, memory_mb, created_at, started_at, finished_at, duration_ms, queue_wait_ms)
     SELECT gen_random_uuid(), $1::uuid, $2::uuid, 1, 'completed', '{"type":"api"}'::jsonb, '{"a":2,"b":3}'::jsonb, '{"sum":5}'::jsonb, '[]'::jsonb, 1, 30000, 64,
            now() - g * interval '1 second', now() - g * interval '1 second', now() - g * interval '1 second', 1, 1
       FROM generate_series(1, 100) g`,
    [ctx.tenant.id, listScriptId],
  );
  await ctx.stack.query('VACUUM (ANALYZE) executions');
  const empty = await measurePoint(ctx, 'growth-empty', listScriptId);

  say(`  seeding ${(s.growthRows - s.growthWaitingJobs).toLocaleString('en')} history rows and ${s.growthWaitingJobs.toLocaleString('en')} waiting runs`);
  const t0 = Date.now();
  await seedHistory(ctx, { rows: s.growthRows - s.growthWaitingJobs, benchTenantShare: 0.2, hotScriptId: listScriptId });
  await seedWaitingRuns(ctx, s.growthWaitingJobs, 0.2, (ctx.tenant.scripts.growth as { id: string }).id);
  await ctx.stack.query('VACUUM (ANALYZE) executions');
  const seedSeconds = round((Date.now() - t0) / 1000, 1);
  say(`  seeded in ${seedSeconds} s`);
  const grown = await measurePoint(ctx, 'growth-grown', listScriptId);

  const retention = await retentionRun(ctx, grown);
  const result: GrowthResults = {
    definition: GROWTH_DEFINITION,
    rows: grown.executionsRows,
    waitingJobs: grown.waitingJobs,
    seedSeconds,
    empty,
    grown,
    acceptedPerSecRatio: round(grown.acceptedPerSec / Math.max(1e-9, empty.acceptedPerSec), 3),
    listP99Ratio: round(grown.listP99Ms / Math.max(1e-9, empty.listP99Ms), 3),
    retention,
  };
  say(`  growth: accepted/s ×${result.acceptedPerSecRatio}, list p99 ×${result.listP99Ratio} (grown ÷ empty)`);
  return result;
}

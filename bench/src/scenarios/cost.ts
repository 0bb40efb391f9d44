import { expectAccepted, kilnProcessLabels, runRequest, unfinished, type BenchContext } from '../context';
import { measureProcessCosts, type ProcessCost } from '../process-costs';
import { runLoad } from '../load';
import { round, say, sleep, until } from '../log';
import { databaseCounters, tableCounters, tableDelta, type TableCounters } from '../pg-stats';
import { commandStats, RedisAttribution, statsDelta, type AttributedCommands } from '../redis-stats';

export interface CostResults {
  executions: number;
  /** Redis commands per execution executed for Kiln's own processes (Lua-internal calls included, as INFO commandstats counts them). */
  redisCommandsPerExecution: number;
  /** Requests Kiln's processes sent to Redis per execution (a script call counts once). */
  redisRoundTripsPerExecution: number;
  /** PostgreSQL transactions (commits + rollbacks) in the bench database per execution, the harness's own queries subtracted. */
  pgTransactionsPerExecution: number;
  /** Rows inserted + updated + deleted per execution (pg_stat_user_tables). */
  pgRowsWrittenPerExecution: number;
  redis: {
    method: string;
    attributed: AttributedCommands | null;
    topCommandsPerExecution: Record<string, number>;
    /** Commands per execution by process (gateway, worker-1, notifier). */
    perExecutionByProcess: Record<string, number>;
    /** INFO commandstats delta of the whole Redis (every client on the machine) per execution: an upper bound. */
    commandstatsPerExecution: number;
    idleCommandsPerSec: number | null;
  };
  pg: {
    transactions: number;
    rollbacks: number;
    harnessQueriesSubtracted: number;
    idleTransactionsPerSec: number;
    byTable: Record<string, TableCounters>;
  };
  /**
   * CPU milliseconds and system calls per execution, per process (gateway,
   * worker, its sandbox processes, notifier, the bench database's PostgreSQL
   * backends, Redis): where the work is, independent of how busy the machine is.
   */
  perProcess: Record<string, ProcessCost>;
  batchSeconds: number;
  /** How long PostgreSQL took to publish its counters before and after the batch. */
  statsWaitSeconds: { before: number; after: number };
  notes: string[];
}


/**
 * Waits until `caughtUp()` holds and the bench database's transaction counter
 * has not moved (beyond our own reads and a trickle of background work) for
 * two seconds; at most `maxMs`. Returns the seconds waited.
 */
async function settleCounters(ctx: BenchContext, maxMs: number, caughtUp: () => Promise<boolean>): Promise<number> {
  const t0 = Date.now();
  const total = async () => {
    const db = await databaseCounters(ctx.stack);
    return db.xactCommit + db.xactRollback;
  };
  let last = await total();
  let lastOwn = ctx.stack.harnessQueries;
  let stableSince = Date.now();
  while (Date.now() - t0 < maxMs) {
    await sleep(500);
    const ok = await caughtUp();
    const current = await total();
    const own = ctx.stack.harnessQueries;
    if (process.env.KILN_BENCH_DEBUG) say(`    counters: moved ${current - last}, own ${own - lastOwn}, caught up ${ok}`);
    if (current - last - (own - lastOwn) > 1) stableSince = Date.now();
    last = current;
    lastOwn = own;
    if (ok && Date.now() - stableSince >= 2000) break;
  }
  return (Date.now() - t0) / 1000;
}

/**
 * What one execution costs in Redis commands, PostgreSQL transactions and
 * rows written: machine noise does not change these. Measured around a
 * batch of async runs (no webhooks), with an idle window first to show the
 * background rate.
 */
export async function costScenario(ctx: BenchContext): Promise<CostResults> {
  const s = ctx.settings;
  const script = 'cost';
  const scriptId = (ctx.tenant.scripts[script] as { id: string }).id;
  const notes: string[] = [];
  say(`scenario cost: ${s.costExecutions} async runs, counting Redis commands (MONITOR, our connections only) and PostgreSQL transactions`);

  // PostgreSQL (15+) publishes a backend's counters when it goes idle, at
  // most once a second, and up to 10 s late when flushes contend: each edge
  // of the window waits until the counters have caught up (every inserted
  // execution visible) and stopped moving.
  const maxWaitMs = s.statsFlushMs;
  const before = await settleCounters(ctx, maxWaitMs, async () => {
    const rows = await ctx.stack.query<{ rows: string; ins: string }>(
      `SELECT (SELECT count(*) FROM executions) AS rows, (SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'executions') AS ins`,
    );
    return Number(rows[0]?.ins ?? 0) >= Number(rows[0]?.rows ?? 0);
  });
  const idleMs = { smoke: 500, quick: 1000, full: 2000 }[s.mode];
  let attribution: RedisAttribution | null = await RedisAttribution.start(ctx.options.redisUrl, () => kilnProcessLabels(ctx)).catch((err: unknown) => {
    notes.push(`MONITOR unavailable (${(err as Error).message}); Redis figures are the whole server's commandstats delta`);
    return null;
  });
  const idleDb0 = await databaseCounters(ctx.stack);
  await sleep(idleMs);
  const idleDb1 = await databaseCounters(ctx.stack);
  const idleRedis = attribution ? attribution.stop() : null;
  const idleTransactions = idleDb1.xactCommit + idleDb1.xactRollback - idleDb0.xactCommit - idleDb0.xactRollback;

  attribution = attribution ? await RedisAttribution.start(ctx.options.redisUrl, () => kilnProcessLabels(ctx)) : null;
  const harness0 = ctx.stack.harnessQueries;
  const tables0 = await tableCounters(ctx.stack);
  const redis0 = await commandStats(ctx.stack.redis);
  const db0 = await databaseCounters(ctx.stack);
  const processCosts = await measureProcessCosts(ctx);
  const t0 = Date.now();

  const load = await runLoad({
    label: 'cost',
    url: ctx.stack.url,
    connections: Math.min(16, s.connections),
    requests: s.costExecutions,
    request: () => runRequest(ctx, script),
    check: expectAccepted,
  });
  const accepted = load.statuses['202'] ?? 0;
  const done = await until(async () => (await unfinished(ctx, scriptId)) === 0, 180_000, 500);
  if (!done) notes.push('not every execution finished within 180 s; figures are per accepted execution');
  const batchSeconds = (Date.now() - t0) / 1000;
  const perProcess = await processCosts(accepted);
  const after = await settleCounters(ctx, maxWaitMs, async () => {
    const tables = await tableCounters(ctx.stack);
    return (tables.get('executions')?.inserted ?? 0) - (tables0.get('executions')?.inserted ?? 0) >= accepted;
  });
  say(`  batch done in ${batchSeconds.toFixed(1)} s; PostgreSQL's counters settled ${before.toFixed(1)} s before and ${after.toFixed(1)} s after it`);

  const db1 = await databaseCounters(ctx.stack);
  const harness1 = ctx.stack.harnessQueries;
  const redis1 = await commandStats(ctx.stack.redis);
  const attributed = attribution ? attribution.stop() : null;
  // Read after db1: this query's own transaction is not in the window.
  const tables1 = await tableCounters(ctx.stack);
  const insertedRows = (tables1.get('executions')?.inserted ?? 0) - (tables0.get('executions')?.inserted ?? 0);
  if (insertedRows !== accepted) {
    notes.push(`pg_stat_user_tables shows ${insertedRows} executions inserted for ${accepted} accepted runs: PostgreSQL's counters were not complete (or other runs overlapped)`);
  }

  const n = Math.max(1, accepted);
  const harnessQueries = harness1 - harness0;
  const transactions = db1.xactCommit + db1.xactRollback - db0.xactCommit - db0.xactRollback - harnessQueries;
  const rows = tableDelta(tables0, tables1);
  const global = statsDelta(redis0, redis1);
  const redisTotal = attributed ? attributed.total : global.total;
  const per = (v: number) => round(v / n, 2);
  const top = Object.entries(attributed?.byCommand ?? global.byCommand)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 15)
    .map(([cmd, calls]) => [cmd, per(calls)] as const);
  if (attributed && global.total > attributed.total * 1.1) {
    notes.push(`other clients were active on this Redis: the whole server ran ${per(global.total)} commands per execution, Kiln's connections ${per(attributed.total)}`);
  }
  notes.push('background work (BullMQ stalled-job checks, relays) in the batch window is included, not subtracted; see the idle rates');

  const result: CostResults = {
    executions: accepted,
    redisCommandsPerExecution: per(redisTotal),
    redisRoundTripsPerExecution: attributed ? per(attributed.sent) : NaN,
    pgTransactionsPerExecution: per(transactions),
    pgRowsWrittenPerExecution: per(rows.rowsWritten),
    redis: {
      method: attributed ? 'MONITOR, attributed to the client ports of the Kiln processes (from /proc)' : 'INFO commandstats delta of the whole server',
      attributed,
      topCommandsPerExecution: Object.fromEntries(top),
      perExecutionByProcess: Object.fromEntries(Object.entries(attributed?.byProcess ?? {}).map(([label, calls]) => [label, per(calls)])),
      commandstatsPerExecution: per(global.total),
      idleCommandsPerSec: idleRedis ? round(idleRedis.total / (idleMs / 1000), 1) : null,
    },
    pg: {
      transactions,
      rollbacks: db1.xactRollback - db0.xactRollback,
      harnessQueriesSubtracted: harnessQueries,
      idleTransactionsPerSec: round(idleTransactions / (idleMs / 1000), 2),
      byTable: rows.byTable,
    },
    perProcess,
    batchSeconds: round(batchSeconds, 1),
    statsWaitSeconds: { before: round(before, 1), after: round(after, 1) },
    notes,
  };
  say(
    `  cost: ${result.redisCommandsPerExecution} Redis commands (${result.redisRoundTripsPerExecution} round trips), ` +
      `${result.pgTransactionsPerExecution} PostgreSQL transactions, ${result.pgRowsWrittenPerExecution} rows written per execution`,
  );
  return result;
}

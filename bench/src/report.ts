import type { ModeSettings } from './options';
import type { ProfileSummary } from './profiler';
import type { CostResults } from './scenarios/cost';
import type { CpuHeavyResults } from './scenarios/cpu';
import type { FloorResults } from './scenarios/floor';
import type { GrowthResults } from './scenarios/growth';
import type { MemoryResults } from './scenarios/memory';
import type { ScalingResults } from './scenarios/scaling';
import type { SyncResults } from './scenarios/sync';
import type { WebhookResults } from './scenarios/webhook';
import type { AsyncWindowResult } from './context';
import { round } from './log';

export type BundleResults = SyncResults & {
  /** The script's size, UTF-8 bytes. */
  sourceBytes: number;
  /** CPU per run (all processes) over the one-line script's in the sync scenario of the same run. */
  cpuVsOneLine: number | null;
};

export interface AsyncResults {
  acceptedPerSec: number;
  /** From the database: executions that finished inside the window, per second. */
  completedPerSec: number;
  e2eP50Ms: number | null;
  e2eP90Ms: number | null;
  e2eP99Ms: number | null;
  window: AsyncWindowResult;
}

export interface Target {
  id: string;
  description: string;
  target: string;
  value: number | null;
  /** null when the figure was not measured in this run. */
  met: boolean | null;
}

export interface BenchResults {
  schemaVersion: 1;
  runId: string;
  mode: ModeSettings['mode'];
  startedAt: string;
  finishedAt: string;
  durationSec: number;
  machine: Record<string, unknown>;
  git: { commit: string | null; dirty: boolean | null };
  settings: ModeSettings & { stackEnv: Record<string, string>; floorIsolates: number | null; cpuLoopIterations: number | null };
  floor: FloorResults | null;
  sync: SyncResults | null;
  /** Wait mode with the ~200 KiB bundled script: what the size of a script costs each run. */
  bundle: BundleResults | null;
  async: AsyncResults | null;
  cpuHeavy: CpuHeavyResults | null;
  cost: CostResults | null;
  memory: MemoryResults | null;
  webhook: WebhookResults | null;
  scaling: ScalingResults | null;
  growth: GrowthResults | null;
  ratios: {
    asyncVsFloor: number | null;
    syncP50VsFloor: number | null;
    syncP99VsFloor: number | null;
    cpuHeavyVsFloor: number | null;
    twoWorkersVsOne: number | null;
    growthAcceptedPerSec: number | null;
    growthListP99: number | null;
  };
  targets: Target[];
  profiles: ProfileSummary[];
  errors: { scenario: string; message: string }[];
  notes: string[];
}

const ratio = (a: number | null | undefined, b: number | null | undefined, digits = 3): number | null =>
  a === null || a === undefined || b === null || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0 ? null : round(a / b, digits);

export function computeRatios(r: Pick<BenchResults, 'floor' | 'sync' | 'async' | 'cpuHeavy' | 'scaling' | 'growth'>): BenchResults['ratios'] {
  return {
    asyncVsFloor: ratio(r.async?.completedPerSec, r.floor?.rps),
    syncP50VsFloor: ratio(r.sync?.p50Ms, r.floor?.p50Ms, 2),
    syncP99VsFloor: ratio(r.sync?.p99Ms, r.floor?.p99Ms, 2),
    cpuHeavyVsFloor: r.cpuHeavy?.vsFloor ?? null,
    twoWorkersVsOne: r.scaling?.ratio ?? null,
    growthAcceptedPerSec: r.growth?.acceptedPerSecRatio ?? null,
    growthListP99: r.growth?.listP99Ratio ?? null,
  };
}

function check(id: string, description: string, target: string, value: number | null | undefined, ok: (v: number) => boolean): Target {
  const v = value === undefined || value === null || !Number.isFinite(value) ? null : value;
  return { id, description, target, value: v, met: v === null ? null : ok(v) };
}

/** The issue's targets, checked against this run's figures. */
export function computeTargets(r: BenchResults): Target[] {
  return [
    check('asyncVsFloor', 'async completed/s ÷ floor req/s', '≥ 0.35', r.ratios.asyncVsFloor, (v) => v >= 0.35),
    check('syncP50', 'wait-mode p50 (ms)', '≤ 3', r.sync?.p50Ms, (v) => v <= 3),
    check('syncP99', 'wait-mode p99 (ms)', '≤ 15', r.sync?.p99Ms, (v) => v <= 15),
    check('pgTransactions', 'PostgreSQL transactions per execution', '≤ 3', r.cost?.pgTransactionsPerExecution, (v) => v <= 3),
    check('redisCommands', 'Redis commands per execution', '≤ 40', r.cost?.redisCommandsPerExecution, (v) => v <= 40),
    check('workerRss', `worker RSS growth, ${Math.round((r.memory?.targetRuns ?? 0) / 2)} → ${r.memory?.targetRuns ?? 0} runs (%)`, '< 10', r.memory?.workerRssGrowthPct, (v) => v < 10),
    check('growthAccepted', 'accepted/s, grown ÷ empty', '≥ 0.8', r.growth?.acceptedPerSecRatio, (v) => v >= 0.8),
    check('growthListP99', 'GET /v1/executions?scriptId p99, grown ÷ empty', '≤ 1.2', r.growth?.listP99Ratio, (v) => v <= 1.2),
    check(
      'retentionNoStall',
      'accepted/s while retention purges ÷ without',
      '≥ 0.8',
      r.growth?.retention.status === 'measured' ? r.growth.retention.acceptedVsGrown : null,
      (v) => v >= 0.8,
    ),
  ];
}

const fmt = (v: number | null | undefined, unit = ''): string => (v === null || v === undefined || !Number.isFinite(v) ? '—' : `${v}${unit}`);

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

/** The human-readable summary printed at the end of a run. */
export function renderReport(r: BenchResults, outFile: string): string {
  const lines: string[] = [];
  lines.push('');
  lines.push(
    `Kiln benchmark — ${r.mode} mode, ${r.startedAt}, ${r.durationSec} s, ${String(r.machine.cpus)} cores (${String(r.machine.cpuModel)})${
      typeof r.machine.postgresTransport === 'string' ? `, PostgreSQL over ${r.machine.postgresTransport}` : ''
    }`,
  );
  lines.push('');
  const rows: string[][] = [['scenario', 'figure', 'Kiln', 'floor', 'Kiln ÷ floor']];
  if (r.floor || r.async) rows.push(['async, ' + (r.settings.connections) + ' conn', 'completed/s (database)', fmt(r.async?.completedPerSec), fmt(r.floor?.rps), fmt(r.ratios.asyncVsFloor)]);
  if (r.async) {
    rows.push(['', 'accepted/s (202s)', fmt(r.async.acceptedPerSec), '', '']);
    rows.push(['', 'e2e p50 / p99 (ms)', `${fmt(r.async.e2eP50Ms)} / ${fmt(r.async.e2eP99Ms)}`, '', '']);
    rows.push(['', 'backlog at window end', fmt(r.async.window.settle.backlogAtEnd), '', '']);
  }
  if (r.sync || r.floor) {
    rows.push(['wait mode, 1 conn', 'p50 (ms)', fmt(r.sync?.p50Ms), fmt(r.floor?.p50Ms), fmt(r.ratios.syncP50VsFloor)]);
    rows.push(['', 'p90 (ms)', fmt(r.sync?.p90Ms), fmt(r.floor?.p90Ms), '']);
    rows.push(['', 'p99 (ms)', fmt(r.sync?.p99Ms), fmt(r.floor?.p99Ms), fmt(r.ratios.syncP99VsFloor)]);
  }
  if (r.bundle) {
    const kib = Math.round(r.bundle.sourceBytes / 1024);
    rows.push([`wait mode, ${kib} KiB script`, 'p50 / p99 (ms)', `${fmt(r.bundle.p50Ms)} / ${fmt(r.bundle.p99Ms)}`, '', '']);
    rows.push(['', 'CPU ms per run (one-line script)', `${fmt(r.bundle.cpuMsPerRun)} (${fmt(r.sync?.cpuMsPerRun)})`, '', r.bundle.cpuVsOneLine === null ? '' : `×${fmt(r.bundle.cpuVsOneLine)}`]);
  }
  if (r.cpuHeavy) {
    rows.push(['5 ms CPU script', 'completed/s', fmt(r.cpuHeavy.completedPerSec), fmt(r.cpuHeavy.floorRps), fmt(r.cpuHeavy.vsFloor)]);
    rows.push(['', 'one run p50 (ms)', fmt(r.cpuHeavy.syncP50Ms), fmt(r.cpuHeavy.floorSyncP50Ms), `+${fmt(r.cpuHeavy.overheadMs)} ms`]);
  }
  if (r.webhook) {
    if (r.webhook.status === 'measured') {
      rows.push(['webhook subscriber', 'deliveries/s', fmt(r.webhook.deliveriesPerSec), '', '']);
      rows.push(['', 'completion → delivery p50 / p99 (ms)', `${fmt(r.webhook.completionToDelivery?.p50Ms)} / ${fmt(r.webhook.completionToDelivery?.p99Ms)}`, '', '']);
    } else {
      rows.push(['webhook subscriber', 'skipped', r.webhook.note.slice(0, 60), '', '']);
    }
  }
  if (r.scaling) rows.push(['1 vs 2 workers', 'completed/s', `${r.scaling.oneWorker.completedPerSec} → ${r.scaling.twoWorkers.completedPerSec}`, '', `×${r.scaling.ratio}`]);
  if (r.cost) {
    rows.push(['cost per execution', 'Redis commands (round trips)', `${fmt(r.cost.redisCommandsPerExecution)} (${fmt(r.cost.redisRoundTripsPerExecution)})`, '', '']);
    rows.push(['', 'PostgreSQL transactions', fmt(r.cost.pgTransactionsPerExecution), '', '']);
    rows.push(['', 'PostgreSQL rows written', fmt(r.cost.pgRowsWrittenPerExecution), '', '']);
    const cpu = Object.entries(r.cost.perProcess).filter(([label]) => !label.startsWith('redis'));
    rows.push(['', 'CPU ms (' + cpu.map(([label]) => label).join(', ') + ')', cpu.map(([, c]) => c.cpuMs.toFixed(2)).join(', '), '', '']);
    rows.push(['', 'write syscalls (same order)', cpu.map(([, c]) => c.writeSyscalls.toFixed(1)).join(', '), '', '']);
  }
  if (r.memory) {
    const m = r.memory;
    rows.push(['worker memory', `RSS MiB at 0 / ${Math.round(m.targetRuns / 2)} / ${m.targetRuns} runs`, `${fmt(m.start.workerRssMb)} / ${fmt(m.half?.workerRssMb)} / ${fmt(m.end?.workerRssMb)}`, '', `${fmt(m.workerRssGrowthPct)} %`]);
    rows.push(['', 'sandbox processes MiB', `${fmt(m.start.sandboxRssMb)} / ${fmt(m.half?.sandboxRssMb)} / ${fmt(m.end?.sandboxRssMb)}`, '', `${fmt(m.sandboxRssGrowthPct)} %`]);
  }
  if (r.growth) {
    const g = r.growth;
    rows.push(['data growth', `accepted/s (empty → ${g.rows} rows, ${g.waitingJobs} waiting)`, `${g.empty.acceptedPerSec} → ${g.grown.acceptedPerSec}`, '', `×${g.acceptedPerSecRatio}`]);
    rows.push(['', 'list by scriptId p99 (ms)', `${g.empty.listP99Ms} → ${g.grown.listP99Ms}`, '', `×${g.listP99Ratio}`]);
    if (g.retention.status === 'measured') rows.push(['', 'accepted/s during retention purge', `${fmt(g.retention.acceptedPerSec)} (${fmt(g.retention.purgedPerSec)} rows purged/s)`, '', `×${fmt(g.retention.acceptedVsGrown)}`]);
  }
  lines.push(table(rows));
  lines.push('');
  const targetRows: string[][] = [['target', 'wanted', 'this run', '']];
  for (const t of r.targets) targetRows.push([t.description, t.target, fmt(t.value), t.met === null ? 'not measured' : t.met ? 'met' : 'NOT MET']);
  lines.push(table(targetRows));
  if (r.profiles.length > 0) {
    lines.push('');
    for (const p of r.profiles) {
      lines.push(`profile ${p.app} (${p.sampledMs} ms sampled): ${p.byArea.slice(0, 8).map((a) => `${a.area} ${a.pct}%`).join(', ')}`);
    }
  }
  const noisy = r.notes.filter((n) => n.startsWith('noise') || n.startsWith('errors'));
  if (noisy.length > 0) lines.push('', ...noisy);
  if (r.errors.length > 0) lines.push('', ...r.errors.map((e) => `ERROR in ${e.scenario}: ${e.message}`));
  lines.push('', `results: ${outFile}`);
  return lines.join('\n');
}

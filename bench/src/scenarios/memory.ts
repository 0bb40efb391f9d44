import { settle, type BenchContext, type SettleReport } from '../context';
import { round, say, sleep } from '../log';
import { processMemory } from '../proc-stats';
import { seedPendingRuns } from '../seed';

export interface MemorySample {
  runs: number;
  seconds: number;
  workerRssMb: number | null;
  sandboxRssMb: number;
  sandboxProcesses: number;
}

export interface MemoryResults {
  runs: number;
  targetRuns: number;
  /** Worker process RSS growth between half the runs and all of them (the target: < 10 %). */
  workerRssGrowthPct: number | null;
  /** The same for the sandbox child processes together (they may be recycled). */
  sandboxRssGrowthPct: number | null;
  start: MemorySample;
  half: MemorySample | null;
  end: MemorySample | null;
  timeline: MemorySample[];
  /** The worker's own pace with no gateway in front (runs written straight to the database and queue). */
  workerRunsPerSec: number;
  capped: boolean;
  settle: SettleReport;
}

function sample(ctx: BenchContext, runs: number, t0: number): MemorySample {
  const worker = ctx.stack.workers[0];
  const memory = worker ? processMemory(worker.pid) : null;
  return {
    runs,
    seconds: round((Date.now() - t0) / 1000, 1),
    workerRssMb: memory?.rssMb ?? null,
    sandboxRssMb: memory?.childrenRssMb ?? 0,
    sandboxProcesses: memory?.children.length ?? 0,
  };
}

const growth = (from: number | null | undefined, to: number | null | undefined): number | null =>
  from && to ? round((100 * (to - from)) / from, 1) : null;

/**
 * Worker memory over many runs: `memoryRuns` pending runs go straight into
 * the database and the queue (faster than the gateway could accept them),
 * the worker drains them, and its RSS is read at the start, at half and at
 * the end. Growth between half and end is the leak signal.
 */
export async function memoryScenario(ctx: BenchContext): Promise<MemoryResults> {
  const s = ctx.settings;
  const script = 'memory';
  const scriptId = (ctx.tenant.scripts[script] as { id: string }).id;
  say(`scenario memory: ${s.memoryRuns.toLocaleString('en')} runs through one worker, RSS at 0, ${(s.memoryRuns / 2).toLocaleString('en')} and ${s.memoryRuns.toLocaleString('en')} runs`);
  const t0 = Date.now();
  const start = sample(ctx, 0, t0);
  const timeline: MemorySample[] = [start];
  let seeding = true;
  const seeder = seedPendingRuns(ctx, script, s.memoryRuns).finally(() => {
    seeding = false;
  });
  seeder.catch(() => undefined);

  let half: MemorySample | null = null;
  let end: MemorySample | null = null;
  let lastTimeline = Date.now();
  let lastSay = Date.now();
  let runs = 0;
  const deadline = t0 + s.memoryTimeCapMs;
  while (Date.now() < deadline) {
    const rows = await ctx.stack.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM executions WHERE tenant_id = $2::uuid AND script_id = $1::uuid AND status IN ('completed', 'failed')`,
      [scriptId, ctx.tenant.id],
    );
    runs = rows[0]?.n ?? 0;
    if (!half && runs >= s.memoryRuns / 2) {
      half = sample(ctx, runs, t0);
      timeline.push(half);
    }
    if (runs >= s.memoryRuns) {
      end = sample(ctx, runs, t0);
      timeline.push(end);
      break;
    }
    if (Date.now() - lastTimeline >= Math.max(1000, s.memoryTimeCapMs / 40)) {
      lastTimeline = Date.now();
      timeline.push(sample(ctx, runs, t0));
    }
    if (Date.now() - lastSay >= 5000) {
      lastSay = Date.now();
      const latest = timeline[timeline.length - 1] as MemorySample;
      say(`  memory: ${runs.toLocaleString('en')} runs${seeding ? ' (still seeding)' : ''}, worker RSS ${latest.workerRssMb} MiB, sandboxes ${latest.sandboxRssMb} MiB`);
    }
    await sleep(250);
  }
  await seeder.catch((err: unknown) => say(`  memory: seeding failed: ${(err as Error).message}`));
  const capped = end === null;
  if (capped) say(`  memory: stopped at the ${s.memoryTimeCapMs / 1000} s cap after ${runs.toLocaleString('en')} runs`);
  const seconds = (Date.now() - t0) / 1000;
  const settled = await settle(ctx, scriptId);
  const result: MemoryResults = {
    runs,
    targetRuns: s.memoryRuns,
    workerRssGrowthPct: growth(half?.workerRssMb, end?.workerRssMb),
    sandboxRssGrowthPct: growth(half?.sandboxRssMb, end?.sandboxRssMb),
    start,
    half,
    end,
    timeline,
    workerRunsPerSec: round(runs / seconds, 1),
    capped,
    settle: settled,
  };
  say(
    `  memory: worker RSS ${start.workerRssMb} → ${half?.workerRssMb ?? '?'} → ${end?.workerRssMb ?? '?'} MiB ` +
      `(growth over the second half ${result.workerRssGrowthPct ?? '?'} %), sandboxes ${start.sandboxRssMb} → ${half?.sandboxRssMb ?? '?'} → ${end?.sandboxRssMb ?? '?'} MiB; ` +
      `${result.workerRunsPerSec} runs/s without the gateway`,
  );
  return result;
}

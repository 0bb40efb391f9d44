import { asyncWindow, executionStats, expectCompleted, runRequest, type AsyncWindowResult, type BenchContext, type ExecutionWindowStats } from '../context';
import { runLoad } from '../load';
import { round, say } from '../log';
import { CPU_WORK_MS } from '../scripts';
import type { FloorResults } from './floor';

export interface CpuHeavyResults {
  workMs: number;
  completedPerSec: number;
  floorRps: number;
  /** Kiln's throughput as a share of the floor's, with real work in every run. */
  vsFloor: number;
  syncP50Ms: number;
  floorSyncP50Ms: number;
  /** What Kiln adds to one run of this script over the floor (p50, one connection). */
  overheadMs: number;
  /** The wait-mode runs as the database saw them: their phases (queue wait, sandbox, start → finish) split the overhead. */
  syncExecutions: ExecutionWindowStats;
  async: AsyncWindowResult;
}

/** A script that burns ~5 ms of CPU: sandbox overhead against real work. */
export async function cpuScenario(ctx: BenchContext, floor: FloorResults): Promise<CpuHeavyResults> {
  const s = ctx.settings;
  const async = await asyncWindow(ctx, 'cpu', 'cpu', s.cpuDurationMs);
  say(`scenario cpu-sync: 1 connection, ${s.cpuSyncRequests} wait-mode runs of the 5 ms script`);
  const latency = await runLoad({
    label: 'cpu-sync',
    url: ctx.stack.url,
    connections: 1,
    warmupRequests: Math.min(20, s.syncWarmupRequests),
    requests: s.cpuSyncRequests,
    request: () => runRequest(ctx, 'cpu', { wait: true }),
    check: expectCompleted,
  });
  const syncExecutions = await executionStats(ctx, (ctx.tenant.scripts['cpu'] as { id: string }).id, latency.windowStart, latency.windowEnd + 1);
  const result: CpuHeavyResults = {
    workMs: CPU_WORK_MS,
    completedPerSec: async.executions.completedPerSec,
    floorRps: floor.cpuHeavy.rps,
    vsFloor: round(async.executions.completedPerSec / Math.max(1e-9, floor.cpuHeavy.rps), 3),
    syncP50Ms: latency.latency.p50Ms,
    floorSyncP50Ms: floor.cpuHeavy.p50Ms,
    overheadMs: round(latency.latency.p50Ms - floor.cpuHeavy.p50Ms, 2),
    syncExecutions,
    async,
  };
  say(`  cpu: ${result.completedPerSec}/s vs floor ${result.floorRps}/s (${result.vsFloor}); one run p50 ${result.syncP50Ms} ms vs floor ${result.floorSyncP50Ms} ms`);
  const phases = syncExecutions.phasesP50Ms;
  say(`  cpu-sync phases (p50, database): queue wait ${phases.queueWait} ms, sandbox ${phases.sandbox} ms, start → finish ${phases.startToFinish} ms`);
  return result;
}

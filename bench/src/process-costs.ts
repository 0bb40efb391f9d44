import type { BenchContext } from './context';
import { backendPids } from './pg-stats';
import { cpuTicks, descendants, ioCounters, ticksPerSecond } from './proc-stats';
import { round } from './log';

// Where a scenario's CPU went, process by process (gateway, worker-1, its
// sandbox processes, notifier, the bench database's PostgreSQL backends,
// Redis, the load generator), divided by the runs it served: a figure that
// does not depend on how busy the machine was.

/** CPU time and system calls of each process group, per execution. */
export interface ProcessCost {
  cpuMs: number;
  readSyscalls: number;
  writeSyscalls: number;
}

type Counters = Map<number, { ticks: number; syscr: number; syscw: number }>;

async function processGroups(ctx: BenchContext): Promise<Record<string, number[]>> {
  const groups: Record<string, number[]> = {};
  for (const app of ctx.stack.apps.filter((a) => !a.hasExited)) {
    groups[app.label] = [app.pid];
    const children = descendants(app.pid);
    if (children.length > 0) groups[`${app.label} sandboxes`] = children;
  }
  groups.postgres = await backendPids(ctx.stack);
  if (ctx.redisPid) groups['redis (whole server)'] = [ctx.redisPid];
  groups['load generator (harness)'] = [process.pid];
  return groups;
}

function readCounters(groups: Record<string, number[]>): Map<string, Counters> {
  const result = new Map<string, Counters>();
  for (const [label, pids] of Object.entries(groups)) {
    const counters: Counters = new Map();
    for (const pid of pids) {
      const ticks = cpuTicks(pid);
      const io = ioCounters(pid);
      if (ticks !== null) counters.set(pid, { ticks, syscr: io?.syscr ?? 0, syscw: io?.syscw ?? 0 });
    }
    result.set(label, counters);
  }
  return result;
}

function processCosts(before: Map<string, Counters>, after: Map<string, Counters>, executions: number): Record<string, ProcessCost> {
  const perSecond = ticksPerSecond();
  const costs: Record<string, ProcessCost> = {};
  for (const [label, end] of after) {
    const start: Counters = before.get(label) ?? (new Map() as Counters);
    let ticks = 0;
    let syscr = 0;
    let syscw = 0;
    for (const [pid, e] of end) {
      const b = start.get(pid) ?? { ticks: 0, syscr: 0, syscw: 0 };
      ticks += e.ticks - b.ticks;
      syscr += e.syscr - b.syscr;
      syscw += e.syscw - b.syscw;
    }
    costs[label] = {
      cpuMs: round((ticks * 1000) / perSecond / executions, 3),
      readSyscalls: round(syscr / executions, 2),
      writeSyscalls: round(syscw / executions, 2),
    };
  }
  return costs;
}

/**
 * Starts counting CPU time and system calls of every process group; the
 * returned function ends the window and divides by `runs`. PostgreSQL
 * backends that appeared meanwhile are counted from zero.
 */
export async function measureProcessCosts(ctx: BenchContext): Promise<(runs: number) => Promise<Record<string, ProcessCost>>> {
  const groups = await processGroups(ctx);
  const before = readCounters(groups);
  return async (runs) => {
    const groupsAfter = await processGroups(ctx);
    groupsAfter.postgres = [...new Set([...(groups.postgres ?? []), ...(groupsAfter.postgres ?? [])])];
    return processCosts(before, readCounters(groupsAfter), Math.max(1, runs));
  };
}

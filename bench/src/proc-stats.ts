import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { round } from './log';

// Linux /proc readers: process memory, CPU time and process trees. On a
// system without /proc they return nothing and the report says so.

interface ProcStat {
  ppid: number;
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
}

function readStat(pid: number): ProcStat | null {
  try {
    const raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const rest = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(rest[1]), cpuTicks: Number(rest[11]) + Number(rest[12]) };
  } catch {
    return null;
  }
}

/** utime + stime of a process in clock ticks, or null when it is gone. */
export function cpuTicks(pid: number): number | null {
  return readStat(pid)?.cpuTicks ?? null;
}

let clockTicks: number | null = null;
/** Clock ticks per second (getconf CLK_TCK; 100 on Linux in practice). */
export function ticksPerSecond(): number {
  if (clockTicks === null) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** Read and write system calls a process made so far (/proc/<pid>/io). */
export function ioCounters(pid: number): { syscr: number; syscw: number } | null {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    return { syscr: Number(/^syscr:\s+(\d+)/m.exec(io)?.[1] ?? NaN), syscw: Number(/^syscw:\s+(\d+)/m.exec(io)?.[1] ?? NaN) };
  } catch {
    return null;
  }
}

/** Resident set size in MiB (VmRSS), or null when the process is gone. */
export function rssMb(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? round(Number(match[1]) / 1024, 1) : null;
  } catch {
    return null;
  }
}

/** Every live descendant of `pid` (children, grandchildren, …). */
export function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return [];
  }
  for (const entry of entries) {
    const stat = readStat(Number(entry));
    if (stat) parentOf.set(Number(entry), stat.ppid);
  }
  const found: number[] = [];
  const frontier = [pid];
  while (frontier.length > 0) {
    const current = frontier.pop() as number;
    for (const [child, parent] of parentOf) {
      if (parent === current) {
        found.push(child);
        frontier.push(child);
      }
    }
  }
  return found;
}

export interface ProcessMemory {
  pid: number;
  rssMb: number | null;
  /** The sandbox child processes (and anything else it spawned). */
  children: { pid: number; rssMb: number | null }[];
  childrenRssMb: number;
}

export function processMemory(pid: number): ProcessMemory {
  const children = descendants(pid).map((child) => ({ pid: child, rssMb: rssMb(child) }));
  return { pid, rssMb: rssMb(pid), children, childrenRssMb: round(children.reduce((sum, c) => sum + (c.rssMb ?? 0), 0), 1) };
}

function machineTicks(): { total: number; idle: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const values = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    const total = values.slice(0, 8).reduce((a, b) => a + b, 0);
    return { total, idle: (values[3] ?? 0) + (values[4] ?? 0) };
  } catch {
    return null;
  }
}

export type CpuGroups = Record<string, number[]>;

interface CpuSnapshot {
  machine: { total: number; idle: number } | null;
  perPid: Map<number, number>;
}

function snapshot(groups: CpuGroups): CpuSnapshot {
  const perPid = new Map<number, number>();
  for (const pids of Object.values(groups)) {
    for (const pid of pids) {
      const stat = readStat(pid);
      if (stat) perPid.set(pid, stat.cpuTicks);
    }
  }
  return { machine: machineTicks(), perPid };
}

/** CPU used during a window, in cores (2.0 = both cores of a 2-core machine), per group of processes. */
export type CpuUsage = Record<string, number> & { others: number; idle: number; cores: number };

/**
 * Who used the CPU during a scenario: the groups given (Kiln's processes,
 * the load generator, PostgreSQL backends of the bench database, Redis) and
 * everything else on the machine ("others": other people's tests, say). A
 * large "others" figure means the scenario's numbers are noisy.
 */
export class CpuMeter {
  private readonly start: CpuSnapshot;

  constructor(private readonly groups: () => CpuGroups) {
    this.start = snapshot(groups());
  }

  finish(): CpuUsage | null {
    const groups = this.groups();
    const end = snapshot(groups);
    if (!this.start.machine || !end.machine) return null;
    const totalTicks = end.machine.total - this.start.machine.total;
    if (totalTicks <= 0) return null;
    const cores = os.availableParallelism();
    // /proc/stat counts ticks of every core: ticks per core = total / cores.
    const toCores = (ticks: number) => round((ticks * cores) / totalTicks, 2);
    const usage: Record<string, number> = {};
    let attributed = 0;
    const seen = new Set<number>();
    for (const [name, pids] of Object.entries(groups)) {
      let ticks = 0;
      for (const pid of pids) {
        if (seen.has(pid)) continue;
        seen.add(pid);
        const after = end.perPid.get(pid);
        if (after === undefined) continue;
        ticks += Math.max(0, after - (this.start.perPid.get(pid) ?? 0));
      }
      attributed += ticks;
      usage[name] = toCores(ticks);
    }
    const idleTicks = end.machine.idle - this.start.machine.idle;
    const busy = totalTicks - idleTicks;
    return { ...usage, others: toCores(Math.max(0, busy - attributed)), idle: toCores(idleTicks), cores };
  }
}

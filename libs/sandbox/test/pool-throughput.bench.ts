/**
 * Throughput, CPU per run and latency of trivial scripts through a real
 * SandboxPool. Not a test: prints numbers. Run from the repo root:
 *   node --no-node-snapshot --require ./libs/sandbox/src/child/swc-register.cjs libs/sandbox/test/pool-throughput.bench.ts
 *
 * Options (environment):
 *   BENCH_PROCESSES=2 BENCH_RUNS_PER_PROCESS=8   pool shape (production default is 2 x 32)
 *   BENCH_RUNS=5000                              runs per throughput phase
 *   BENCH_QUICK=1                                only the one-tenant phase (plus warm-up)
 *   BENCH_CPU_PROF=/tmp/prof                     write .cpuprofile files of the children there
 *   BENCH_CHILD_ARGS="--perf-basic-prof"         more Node options for the children (space-separated)
 * CPU per run is the children's user+system time (from /proc) and this
 * process's, divided by the runs of the phase.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { SandboxPool } from '../src';
import { request } from './pool-fixture';

const SOURCE = 'module.exports = ({ input }) => ({ doubled: input.a * 2 });';
const IN_FLIGHT = 64;
const THROUGHPUT_RUNS = Number(process.env['BENCH_RUNS'] ?? 5000);
const LATENCY_RUNS = 500;
const PROCESSES = Number(process.env['BENCH_PROCESSES'] ?? 2);
const RUNS_PER_PROCESS = Number(process.env['BENCH_RUNS_PER_PROCESS'] ?? 8);
const QUICK = process.env['BENCH_QUICK'] === '1';
const CPU_PROF = process.env['BENCH_CPU_PROF'];
const CHILD_ARGS = (process.env['BENCH_CHILD_ARGS'] ?? '').split(' ').filter((arg) => arg !== '');

interface Phase {
  runsPerSecond: number;
  childCpuMsPerRun: number;
  poolCpuMsPerRun: number;
}

/** User + system CPU of a process in ms, from /proc (Linux only; 0 elsewhere). */
function procCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat, counted from 1; 3 is the first after the name.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return 0;
  }
}

function childrenCpuMs(pool: SandboxPool): number {
  return pool.stats().pids.reduce((sum, pid) => sum + procCpuMs(pid), 0);
}

function selfCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

async function throughput(pool: SandboxPool, tenants: number): Promise<Phase> {
  let next = 0;
  let failed = 0;
  const childBefore = childrenCpuMs(pool);
  const selfBefore = selfCpuMs();
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < THROUGHPUT_RUNS) {
      const i = next++;
      const outcome = await pool.run(request(SOURCE, { isolationKey: `tenant-${i % tenants}` }));
      if (outcome.status !== 'completed') failed += 1;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const elapsed = performance.now() - started;
  if (failed > 0) throw new Error(`${failed} runs failed`);
  const round = (n: number): number => Math.round(n * 1000) / 1000;
  return {
    runsPerSecond: Math.round(THROUGHPUT_RUNS / (elapsed / 1000)),
    childCpuMsPerRun: round((childrenCpuMs(pool) - childBefore) / THROUGHPUT_RUNS),
    poolCpuMsPerRun: round((selfCpuMs() - selfBefore) / THROUGHPUT_RUNS),
  };
}

async function latencies(pool: SandboxPool): Promise<{ p50: number; p95: number; p99: number }> {
  const samples: number[] = [];
  for (let i = 0; i < LATENCY_RUNS; i++) {
    const started = performance.now();
    await pool.run(request(SOURCE));
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  const at = (q: number): number => Math.round((samples[Math.floor(q * (samples.length - 1))] ?? 0) * 1000) / 1000;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}

async function main(): Promise<void> {
  const pool = new SandboxPool({
    processes: PROCESSES,
    runsPerProcess: RUNS_PER_PROCESS,
    childExecArgv: [...(CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`] : []), ...CHILD_ARGS],
  });
  await pool.start();
  try {
    await throughput(pool, 1);
    const result: Record<string, unknown> = {
      pool: `${PROCESSES} processes x ${RUNS_PER_PROCESS} runs, ${IN_FLIGHT} in flight, ${THROUGHPUT_RUNS} runs per phase`,
      oneTenant: await throughput(pool, 1),
    };
    if (!QUICK) {
      result['fiftyTenants'] = await throughput(pool, 50);
      result['freshIsolates'] = await throughput(pool, THROUGHPUT_RUNS);
      result['singleRunLatencyMs'] = await latencies(pool);
    }
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await pool.close(CPU_PROF ? 10_000 : 0);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exitCode = 1;
});

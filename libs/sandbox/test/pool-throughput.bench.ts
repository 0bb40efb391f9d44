/**
 * Throughput and latency of trivial scripts through a real SandboxPool.
 * Not a test: prints numbers. Run from the repo root:
 *   node --no-node-snapshot --require ./libs/sandbox/src/child/swc-register.cjs libs/sandbox/test/pool-throughput.bench.ts
 */
import { performance } from 'node:perf_hooks';
import { SandboxPool } from '../src';
import { request } from './pool-fixture';

const SOURCE = 'module.exports = ({ input }) => ({ doubled: input.a * 2 });';
const IN_FLIGHT = 64;
const THROUGHPUT_RUNS = 5000;
const LATENCY_RUNS = 500;

async function throughput(pool: SandboxPool, tenants: number): Promise<number> {
  let next = 0;
  let failed = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < THROUGHPUT_RUNS) {
      const i = next++;
      const outcome = await pool.run(request(SOURCE, { isolationKey: `tenant-${i % tenants}` }));
      if (outcome.status !== 'completed') failed += 1;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  if (failed > 0) throw new Error(`${failed} runs failed`);
  return THROUGHPUT_RUNS / ((performance.now() - started) / 1000);
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
  const pool = new SandboxPool({ processes: 2, runsPerProcess: 8 });
  await pool.start();
  try {
    await throughput(pool, 1);
    const result = {
      pool: '2 processes x 8 runs',
      runsPerSecondOneTenant: Math.round(await throughput(pool, 1)),
      runsPerSecond50Tenants: Math.round(await throughput(pool, 50)),
      runsPerSecondFreshIsolates: Math.round(await throughput(pool, THROUGHPUT_RUNS)),
      singleRunLatencyMs: await latencies(pool),
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await pool.close(0);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exitCode = 1;
});

import { describeCpu, expectCompleted, floorRequest, startCpu, type BenchContext } from '../context';
import type { LatencySummary } from '../histogram';
import { runLoad, type LoadResult } from '../load';
import { say } from '../log';
import type { CpuUsage } from '../proc-stats';

export interface FloorResults {
  /** Requests per second with the async scenario's connection count. */
  rps: number;
  /** Latency with one connection, as the wait-mode scenario. */
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  isolates: number;
  runsPerIsolate: number;
  throughput: LoadSummary;
  latency: LoadSummary;
  cpuHeavy: { rps: number; p50Ms: number; throughput: LoadSummary; latency: LoadSummary };
}

export interface LoadSummary {
  connections: number;
  requests: number;
  durationSec: number;
  rps: number;
  latency: LatencySummary;
  errors: number;
  errorSamples: string[];
  cpu?: CpuUsage | null;
}

export function loadSummary(load: LoadResult, cpu?: CpuUsage | null): LoadSummary {
  return {
    connections: load.connections,
    requests: load.requests,
    durationSec: load.durationSec,
    rps: load.rps,
    latency: load.latency,
    errors: load.errors,
    errorSamples: load.errorSamples,
    ...(cpu !== undefined ? { cpu } : {}),
  };
}

/**
 * The floor, in the same run and with the same load generator: what a bare
 * node:http + isolated-vm server does with the same requests.
 */
export async function floorScenario(ctx: BenchContext): Promise<FloorResults> {
  const floor = ctx.floor;
  if (!floor) throw new Error('the floor server is not running');
  const s = ctx.settings;
  const describe = `node:http + isolated-vm, fresh context per request, ${floor.isolates} isolate(s) × ${floor.runsPerIsolate} in flight`;

  say(`scenario floor: ${s.floorDurationMs / 1000} s, ${s.connections} connections (${describe})`);
  let finishCpu = await startCpu(ctx);
  const throughput = await runLoad({
    label: 'floor',
    url: floor.url,
    connections: s.connections,
    warmupMs: s.warmupMs,
    durationMs: s.floorDurationMs,
    request: () => floorRequest(ctx, 'sum'),
    check: expectCompleted,
  });
  const throughputCpu = await finishCpu();
  say(`  floor: ${throughput.rps} req/s, p50 ${throughput.latency.p50Ms} ms, errors ${throughput.errors}; ${describeCpu(throughputCpu)}`);

  say(`scenario floor-sync: 1 connection, ${s.floorSyncRequests} requests`);
  const latency = await runLoad({
    label: 'floor-sync',
    url: floor.url,
    connections: 1,
    warmupRequests: s.syncWarmupRequests,
    requests: s.floorSyncRequests,
    request: () => floorRequest(ctx, 'sum'),
    check: expectCompleted,
  });
  say(`  floor-sync: p50 ${latency.latency.p50Ms} ms, p90 ${latency.latency.p90Ms} ms, p99 ${latency.latency.p99Ms} ms`);

  say(`scenario floor-cpu: ${s.cpuDurationMs / 1000} s, ${s.connections} connections, 5 ms CPU loop per request`);
  finishCpu = await startCpu(ctx);
  const cpuThroughput = await runLoad({
    label: 'floor-cpu',
    url: floor.url,
    connections: s.connections,
    warmupMs: s.warmupMs,
    durationMs: s.cpuDurationMs,
    request: () => floorRequest(ctx, 'cpu'),
    check: expectCompleted,
  });
  const cpuCpu = await finishCpu();
  const cpuLatency = await runLoad({
    label: 'floor-cpu-sync',
    url: floor.url,
    connections: 1,
    warmupRequests: Math.min(20, s.syncWarmupRequests),
    requests: s.cpuSyncRequests,
    request: () => floorRequest(ctx, 'cpu'),
    check: expectCompleted,
  });
  say(`  floor-cpu: ${cpuThroughput.rps} req/s, one-connection p50 ${cpuLatency.latency.p50Ms} ms`);

  for (const load of [throughput, latency, cpuThroughput, cpuLatency]) {
    if (load.errors > load.requests * 0.01) throw new Error(`the floor failed ${load.errors} of ${load.requests} requests (${load.label}): ${load.errorSamples.join('; ')}`);
  }
  return {
    rps: throughput.rps,
    p50Ms: latency.latency.p50Ms,
    p90Ms: latency.latency.p90Ms,
    p99Ms: latency.latency.p99Ms,
    isolates: floor.isolates,
    runsPerIsolate: floor.runsPerIsolate,
    throughput: loadSummary(throughput, throughputCpu),
    latency: loadSummary(latency),
    cpuHeavy: { rps: cpuThroughput.rps, p50Ms: cpuLatency.latency.p50Ms, throughput: loadSummary(cpuThroughput, cpuCpu), latency: loadSummary(cpuLatency) },
  };
}

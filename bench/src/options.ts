import path from 'node:path';

export type Mode = 'smoke' | 'quick' | 'full';

/** How long and how big each scenario is, per mode. */
export interface ModeSettings {
  mode: Mode;
  /** Load applied before each time-boxed window opens (not measured). */
  warmupMs: number;
  connections: number;
  floorDurationMs: number;
  floorSyncRequests: number;
  syncRequests: number;
  syncWarmupRequests: number;
  /** Wait-mode runs of the ~200 KiB bundled script (after a tenth as many warm-up runs). */
  bundleRequests: number;
  asyncDurationMs: number;
  cpuDurationMs: number;
  cpuSyncRequests: number;
  webhookDurationMs: number;
  /** How long to wait for a first webhook before calling the notifier "not delivering". */
  webhookProbeMs: number;
  scalingDurationMs: number;
  costExecutions: number;
  memoryRuns: number;
  memoryTimeCapMs: number;
  growthRows: number;
  growthWaitingJobs: number;
  growthAcceptMs: number;
  listRequests: number;
  retention: boolean;
  /** After a time-boxed async window, how long the backlog may take to finish before it is discarded. */
  drainMaxMs: number;
  /** Longest wait around the cost batch for PostgreSQL to publish its counters (they can lag up to 10 s). */
  statsFlushMs: number;
}

const FULL: ModeSettings = {
  mode: 'full',
  warmupMs: 2000,
  connections: 64,
  floorDurationMs: 30_000,
  floorSyncRequests: 2000,
  syncRequests: 2000,
  syncWarmupRequests: 200,
  bundleRequests: 1000,
  asyncDurationMs: 30_000,
  cpuDurationMs: 15_000,
  cpuSyncRequests: 300,
  webhookDurationMs: 15_000,
  webhookProbeMs: 10_000,
  scalingDurationMs: 15_000,
  costExecutions: 5000,
  memoryRuns: 50_000,
  memoryTimeCapMs: 240_000,
  growthRows: 1_000_000,
  growthWaitingJobs: 100_000,
  growthAcceptMs: 10_000,
  listRequests: 2000,
  retention: true,
  drainMaxMs: 15_000,
  statsFlushMs: 12_000,
};

const QUICK: ModeSettings = {
  mode: 'quick',
  warmupMs: 1000,
  connections: 64,
  floorDurationMs: 5_000,
  floorSyncRequests: 500,
  syncRequests: 500,
  syncWarmupRequests: 50,
  bundleRequests: 300,
  asyncDurationMs: 10_000,
  cpuDurationMs: 3_000,
  cpuSyncRequests: 50,
  webhookDurationMs: 3_000,
  webhookProbeMs: 5_000,
  scalingDurationMs: 3_000,
  costExecutions: 500,
  memoryRuns: 3000,
  memoryTimeCapMs: 30_000,
  growthRows: 100_000,
  growthWaitingJobs: 10_000,
  growthAcceptMs: 3_000,
  listRequests: 300,
  retention: true,
  drainMaxMs: 2_000,
  statsFlushMs: 12_000,
};

const SMOKE: ModeSettings = {
  mode: 'smoke',
  warmupMs: 300,
  connections: 16,
  floorDurationMs: 1000,
  floorSyncRequests: 50,
  syncRequests: 50,
  syncWarmupRequests: 10,
  bundleRequests: 20,
  asyncDurationMs: 1500,
  cpuDurationMs: 800,
  cpuSyncRequests: 10,
  webhookDurationMs: 1000,
  webhookProbeMs: 3000,
  scalingDurationMs: 800,
  costExecutions: 100,
  memoryRuns: 300,
  memoryTimeCapMs: 15_000,
  growthRows: 2000,
  growthWaitingJobs: 200,
  growthAcceptMs: 800,
  listRequests: 30,
  retention: false,
  drainMaxMs: 3000,
  statsFlushMs: 3000,
};

export interface BenchOptions {
  settings: ModeSettings;
  root: string;
  adminUrl: string;
  redisUrl: string;
  redisPrefix: string | undefined;
  out: string;
  /** Scenario around which to CPU-profile the apps (--profile[=scenario]). */
  profile: string | null;
  /** Only these scenarios (comma-separated --only); the floor always runs. */
  only: Set<string> | null;
  /** Time every step of each wait-mode run across the processes (--trace). */
  trace: boolean;
}

export const SCENARIOS = ['floor', 'sync', 'bundle', 'async', 'cpu', 'cost', 'memory', 'webhook', 'scaling', 'growth'] as const;

export function usage(): string {
  return [
    'usage: npm run bench [-- --quick | --full | --smoke] [--out <file>] [--profile[=<scenario>]] [--only <s1,s2>] [--trace]',
    '',
    '  --full     (default) every scenario at full size, under ten minutes',
    '  --quick    the same scenarios, smaller and shorter, under two minutes',
    '  --smoke    a few seconds per scenario: checks that the harness works (numbers mean nothing)',
    '  --out      where to write the JSON results (default bench/results/latest.json for --full,',
    '             bench/results/<mode>.tmp.json otherwise)',
    '  --profile  CPU-profile gateway and worker during one scenario, or one of its loads such as',
    '             growth-grown-list (default async); summaries in the',
    '             results, .cpuprofile files under bench/results/profiles/',
    `  --only     run only these scenarios (${SCENARIOS.join(', ')}); the floor always runs`,
    '  --trace    the apps time every step of each wait-mode run (sync scenario): where its',
    '             milliseconds go, as medians per step (adds a little work to every step)',
    '',
    '  environment: KILN_BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres),',
    '               KILN_BENCH_REDIS_URL (default redis://127.0.0.1:6379), KILN_BENCH_REDIS_PREFIX',
  ].join('\n');
}

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv, root: string): BenchOptions {
  let settings = FULL;
  let out: string | undefined;
  let profile: string | null = null;
  let only: Set<string> | null = null;
  let trace = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--full') settings = FULL;
    else if (arg === '--quick') settings = QUICK;
    else if (arg === '--smoke') settings = SMOKE;
    else if (arg === '--out') out = argv[++i];
    else if (arg.startsWith('--out=')) out = arg.slice('--out='.length);
    else if (arg === '--profile') profile = 'async';
    else if (arg.startsWith('--profile=')) profile = arg.slice('--profile='.length);
    else if (arg === '--only') only = new Set((argv[++i] ?? '').split(',').filter(Boolean));
    else if (arg.startsWith('--only=')) only = new Set(arg.slice('--only='.length).split(',').filter(Boolean));
    else if (arg === '--trace') trace = true;
    else if (arg === '--help' || arg === '-h') throw new UsageError(usage());
    else throw new UsageError(`unknown argument: ${arg}\n\n${usage()}`);
  }
  for (const name of only ?? []) {
    if (!(SCENARIOS as readonly string[]).includes(name)) throw new UsageError(`unknown scenario in --only: ${name}\n\n${usage()}`);
  }
  // A scenario, or one load of it (growth-empty-list, scaling-2-workers, …).
  if (profile && !SCENARIOS.some((name) => profile === name || profile?.startsWith(`${name}-`))) throw new UsageError(`unknown scenario in --profile: ${profile}`);
  const defaultOut = settings.mode === 'full' ? 'latest.json' : `${settings.mode}.tmp.json`;
  return {
    settings,
    root,
    adminUrl: env.KILN_BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
    redisUrl: env.KILN_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
    redisPrefix: env.KILN_BENCH_REDIS_PREFIX,
    out: path.resolve(root, out ?? path.join('bench', 'results', defaultOut)),
    profile,
    only,
    trace,
  };
}

export class UsageError extends Error {}

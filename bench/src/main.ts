// The Kiln benchmark harness: `npm run bench [-- --quick | --smoke]`.
// Starts its own stack (gateway, worker, notifier as separate processes, a
// database and a Redis prefix of its own), measures Kiln against the floor of
// sandboxed execution in the same run, prints a table and writes JSON.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { asyncWindow, expectCompleted, runRequest, startCpu, type BenchContext } from './context';
import { FloorServer } from './floor/floor';
import { runLoad } from './load';
import { elapsedSeconds, round, say, sleep, warn } from './log';
import { parseOptions, UsageError, type BenchOptions } from './options';
import { Profiler } from './profiler';
import { computeRatios, computeTargets, renderReport, type BenchResults } from './report';
import { costScenario } from './scenarios/cost';
import { cpuScenario } from './scenarios/cpu';
import { floorScenario, type FloorResults } from './scenarios/floor';
import { growthScenario } from './scenarios/growth';
import { memoryScenario } from './scenarios/memory';
import { scalingScenario } from './scenarios/scaling';
import { syncScenario } from './scenarios/sync';
import { webhookScenario } from './scenarios/webhook';
import { bundleSource, calibrateCpuLoop, cpuSource, SUM_SOURCE } from './scripts';
import { adminQuery, BenchStack, dropStaleBenchDatabases, postgresTransport, withDatabase } from './stack';

const ROOT = path.resolve(__dirname, '..', '..', '..');

const BUNDLE_SOURCE = bundleSource();

/** One script per scenario, so the database can tell their executions apart. */
const benchScripts = (cpu: string): Record<string, string> => ({
  warmup: SUM_SOURCE,
  sync: SUM_SOURCE,
  bundle: BUNDLE_SOURCE,
  async: SUM_SOURCE,
  cpu,
  cost: SUM_SOURCE,
  memory: SUM_SOURCE,
  webhook: SUM_SOURCE,
  scaling1: SUM_SOURCE,
  scaling2: SUM_SOURCE,
  growth: SUM_SOURCE,
  list: SUM_SOURCE,
});

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

async function serviceInfo(options: BenchOptions, stack: BenchStack): Promise<{ postgres: string | null; redis: string | null; redisPid: number | null }> {
  const pg = await adminQuery<{ server_version: string }>(options.adminUrl, 'SHOW server_version').catch(() => []);
  const info = await stack.redis.info('server').catch(() => '');
  const version = /redis_version:(\S+)/.exec(info)?.[1] ?? null;
  const pid = Number(/process_id:(\d+)/.exec(info)?.[1] ?? 0);
  let redisPid: number | null = null;
  try {
    // Only when that process is visible here (Redis on this machine).
    if (pid && execFileSync('cat', [`/proc/${pid}/comm`], { encoding: 'utf8' }).includes('redis')) redisPid = pid;
  } catch {
    redisPid = null;
  }
  return { postgres: pg[0]?.server_version ?? null, redis: version, redisPid };
}

async function preflight(options: BenchOptions): Promise<void> {
  try {
    await adminQuery(withDatabase(options.adminUrl, 'postgres'), 'SELECT 1');
  } catch (err) {
    throw new Error(`PostgreSQL did not answer at ${options.adminUrl.replace(/\/\/[^@/]*@/, '//')} (${(err as Error).message}); set KILN_BENCH_DATABASE_URL`);
  }
  const redis = new Redis(options.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 3000, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new Error(`Redis did not answer at ${options.redisUrl.replace(/\/\/[^@/]*@/, '//')} (${(err as Error).message}); set KILN_BENCH_REDIS_URL`);
  } finally {
    redis.disconnect();
  }
}

async function main(): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseOptions(process.argv.slice(2), process.env, ROOT);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const s = options.settings;
  const startedAt = new Date();
  const runId = `${Math.floor(Date.now() / 1000).toString(36)}${randomBytes(3).toString('hex')}`;
  const redisPrefix = options.redisPrefix ?? `kiln-bench-${runId}`;
  const logDir = mkdtempSync(path.join(os.tmpdir(), `kiln-bench-${runId}-`));
  const profileDir = options.profile ? path.join(ROOT, 'bench', 'results', 'profiles') : undefined;
  say(`Kiln benchmark, ${s.mode} mode (run ${runId}); app logs in ${logDir}`);

  await preflight(options);
  const stale = await dropStaleBenchDatabases(options.adminUrl).catch(() => 0);
  if (stale > 0) say(`dropped ${stale} stale benchmark database(s) of crashed runs`);

  const traceDir = options.trace ? path.join(logDir, 'trace') : undefined;
  const stack = new BenchStack({ root: ROOT, adminUrl: options.adminUrl, redisUrl: options.redisUrl, runId, redisPrefix, logDir, profileDir, traceDir });
  let floor: FloorServer | null = null;
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    warn(`${signal}: stopping and cleaning up (database, Redis keys, processes)`);
    void Promise.allSettled([floor?.stop(), stack.stop()]).then(() => {
      rmSync(logDir, { recursive: true, force: true });
      process.exit(130);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => {
    stack.killNow();
    floor?.child.kill('SIGKILL');
  });

  const results: BenchResults = {
    schemaVersion: 1,
    runId,
    mode: s.mode,
    startedAt: startedAt.toISOString(),
    finishedAt: '',
    durationSec: 0,
    machine: {},
    git: { commit: git(['rev-parse', 'HEAD']), dirty: (() => {
      const status = git(['status', '--porcelain']);
      return status === null ? null : status.length > 0;
    })() },
    settings: { ...s, stackEnv: {}, floorIsolates: null, cpuLoopIterations: null },
    floor: null,
    sync: null,
    bundle: null,
    async: null,
    cpuHeavy: null,
    cost: null,
    memory: null,
    webhook: null,
    scaling: null,
    growth: null,
    ratios: computeRatios({ floor: null, sync: null, async: null, cpuHeavy: null, scaling: null, growth: null }),
    targets: [],
    profiles: [],
    errors: [],
    notes: [],
  };
  const wanted = (name: string) => !options.only || options.only.has(name);

  try {
    await stack.createDatabase();
    const services = await serviceInfo(options, stack);
    results.machine = {
      platform: `${os.type()} ${os.release()}`,
      cpus: os.availableParallelism(),
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      memoryGiB: round(os.totalmem() / 2 ** 30, 1),
      node: process.version,
      postgres: services.postgres,
      postgresTransport: postgresTransport(options.adminUrl),
      redis: services.redis,
      loadAverageAtStart: os.loadavg().map((v) => round(v, 2)),
    };
    say(
      `starting Kiln: gateway, worker and notifier as separate processes (database ${stack.databaseName} over ${postgresTransport(options.adminUrl)}, Redis prefix ${redisPrefix})`,
    );
    await stack.startAll();
    const calibration = calibrateCpuLoop();
    const cpuScript = cpuSource(calibration.iterations);
    results.settings.cpuLoopIterations = calibration.iterations;
    say(`CPU-heavy script: ${calibration.iterations.toLocaleString('en')} loop iterations ≈ ${calibration.msPerRun} ms of CPU here`);
    const tenant = await stack.provision(benchScripts(cpuScript));
    results.settings.stackEnv = Object.fromEntries(
      Object.entries(stack.env).filter(([k]) => !/KEY|URL|PREFIX/.test(k) && !['HOST', 'PORT', 'KILN_WORKER_PORT', 'KILN_NOTIFIER_PORT'].includes(k)),
    );
    floor = await FloorServer.start({ sum: SUM_SOURCE, cpu: cpuScript });
    results.settings.floorIsolates = floor.isolates;
    const ctx: BenchContext = {
      options,
      settings: s,
      stack,
      tenant,
      floor,
      redisPid: services.redisPid,
      profiler: options.profile && profileDir ? new Profiler(stack, options.profile, profileDir) : null,
      scenarios: {},
      notes: results.notes,
    };

    // How busy is the machine before we start? Others' work makes every timing noisy.
    const quiet = await startCpu(ctx);
    await sleep(1000);
    const idle = await quiet();
    if (idle && idle.others > 0.2) {
      results.notes.push(`noise: before the run, other processes used ${idle.others} of ${idle.cores} cores; timings are noisy, cost figures are not`);
      warn(`the machine is busy (other processes use ${idle.others} of ${idle.cores} cores): timings will be noisy`);
    }

    const attempt = async <T>(name: string, fn: () => Promise<T>): Promise<T | null> => {
      if (interrupted) return null;
      try {
        return await fn();
      } catch (err) {
        const message = (err as Error).stack ?? String(err);
        warn(`scenario ${name} failed: ${message}`);
        results.errors.push({ scenario: name, message: (err as Error).message });
        return null;
      }
    };

    const floorResults: FloorResults | null = await attempt('floor', () => floorScenario(ctx));
    results.floor = floorResults;
    await floor.stop();
    ctx.floor = null;

    say('warming Kiln up (JIT, connection pools, isolate caches)');
    await runLoad({
      label: 'warm-up',
      url: stack.url,
      connections: 8,
      requests: Math.max(50, s.syncWarmupRequests * 2),
      request: () => runRequest(ctx, 'warmup', { wait: true }),
      check: expectCompleted,
    });

    if (wanted('sync')) results.sync = await attempt('sync', () => syncScenario(ctx));
    if (wanted('bundle')) {
      const runs = { scenario: 'bundle', script: 'bundle', requests: s.bundleRequests, warmupRequests: Math.max(5, Math.round(s.bundleRequests / 10)) };
      const bundle = await attempt('bundle', () => syncScenario(ctx, runs));
      if (bundle) {
        const sourceBytes = Buffer.byteLength(BUNDLE_SOURCE);
        const cpuVsOneLine = results.sync && results.sync.cpuMsPerRun > 0 ? round(bundle.cpuMsPerRun / results.sync.cpuMsPerRun, 2) : null;
        results.bundle = { ...bundle, sourceBytes, cpuVsOneLine };
      }
    }
    if (wanted('async')) {
      const window = await attempt('async', () => asyncWindow(ctx, 'async', 'async', s.asyncDurationMs));
      if (window) {
        results.async = {
          acceptedPerSec: window.acceptedPerSec,
          completedPerSec: window.executions.completedPerSec,
          e2eP50Ms: window.executions.e2eMs.p50,
          e2eP90Ms: window.executions.e2eMs.p90,
          e2eP99Ms: window.executions.e2eMs.p99,
          window,
        };
      }
    }
    if (wanted('cpu') && floorResults) results.cpuHeavy = await attempt('cpu', () => cpuScenario(ctx, floorResults));
    if (wanted('cost')) results.cost = await attempt('cost', () => costScenario(ctx));
    if (wanted('memory')) results.memory = await attempt('memory', () => memoryScenario(ctx));
    if (wanted('webhook')) results.webhook = await attempt('webhook', () => webhookScenario(ctx));
    if (wanted('scaling')) results.scaling = await attempt('scaling', () => scalingScenario(ctx));
    if (wanted('growth')) results.growth = await attempt('growth', () => growthScenario(ctx));
    if (ctx.profiler) results.profiles = ctx.profiler.summaries;

    for (const [name, errors, samples] of [
      ['sync', results.sync?.errors, results.sync?.load.errorSamples],
      ['bundle', results.bundle?.errors, results.bundle?.load.errorSamples],
      ['async', results.async?.window.errors, results.async?.window.errorSamples],
      ['cpu', results.cpuHeavy?.async.errors, results.cpuHeavy?.async.errorSamples],
    ] as const) {
      if (errors) results.notes.push(`errors: ${errors} requests of the ${name} scenario failed (${(samples ?? []).join('; ')})`);
    }
    for (const [name, cpu] of [
      ['async', results.async?.window.cpu],
      ['floor', results.floor?.throughput.cpu],
      ['cpu', results.cpuHeavy?.async.cpu],
    ] as const) {
      if (cpu && cpu.others > 0.2) results.notes.push(`noise: during ${name}, other processes used ${cpu.others} of ${cpu.cores} cores`);
    }
  } catch (err) {
    results.errors.push({ scenario: 'stack', message: (err as Error).message });
    warn(`the benchmark stopped: ${(err as Error).stack ?? String(err)}`);
  } finally {
    if (!interrupted) {
      say('stopping the stack');
      await floor?.stop().catch(() => undefined);
      await stack.stop().catch((err: unknown) => warn(`cleanup: ${(err as Error).message}`));
    }
  }
  if (interrupted) return 130;

  results.finishedAt = new Date().toISOString();
  results.durationSec = round(elapsedSeconds(), 1);
  results.machine.loadAverageAtEnd = os.loadavg().map((v) => round(v, 2));
  results.ratios = computeRatios(results);
  results.targets = computeTargets(results);
  if (s.mode !== 'full') results.notes.push(`${s.mode} mode: smaller and shorter than the full run; compare ratios, not absolute figures, and only with runs of the same mode`);
  mkdirSync(path.dirname(options.out), { recursive: true });
  writeFileSync(options.out, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${renderReport(results, path.relative(ROOT, options.out))}\n`);
  if (results.errors.length === 0) rmSync(logDir, { recursive: true, force: true });
  else say(`app logs kept in ${logDir}`);
  return results.errors.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { hasLocalPostgresSocket, testEnv, uniqueSuffix, viaLocalPostgresSocket } from '@kiln/testing';

// The harness runs end to end in --smoke mode and writes a well-formed
// results file. No timing assertions: numbers live in the harness, not here.
const ROOT = path.resolve(__dirname, '..', '..');
const MAIN = path.join(ROOT, 'dist', 'bench', 'src', 'main.js');

// npm run bench's default on a machine with a local PostgreSQL socket (tools/lib/services.mjs); TCP elsewhere.
const overSocket = hasLocalPostgresSocket();

const isNumber = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);

function get(object: unknown, dotted: string): unknown {
  return dotted.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), object);
}

describe('benchmark harness (npm run bench -- --smoke)', () => {
  const env = testEnv();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-test-'));
  const out = path.join(dir, 'results.json');
  const prefix = `${env.redisPrefix}-bench-${uniqueSuffix()}`;
  let exitCode: number | null = null;
  let output = '';
  let results: any;

  beforeAll(async () => {
    const child = spawn(process.execPath, [MAIN, '--smoke', '--trace', '--out', out], {
      cwd: ROOT,
      env: { ...process.env, KILN_BENCH_DATABASE_URL: overSocket ? viaLocalPostgresSocket(env.adminDatabaseUrl) : env.adminDatabaseUrl, KILN_BENCH_REDIS_URL: env.redisUrl, KILN_BENCH_REDIS_PREFIX: prefix },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    exitCode = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    if (existsSync(out)) results = JSON.parse(readFileSync(out, 'utf8'));
  }, 150_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finishes without errors and says what it is doing', () => {
    if (exitCode !== 0) throw new Error(`harness exited ${exitCode}:\n${output.slice(-4000)}`);
    expect(output).toContain('scenario floor:');
    expect(results.machine.postgresTransport).toMatch(overSocket ? /^unix socket / : /^tcp /);
    expect(output).toContain('scenario async:');
    expect(output).toMatch(/Kiln ÷ floor/);
    expect(results.errors).toEqual([]);
  });

  it('writes every figure the issue asks for, as numbers', () => {
    const required = [
      'floor.rps',
      'floor.p50Ms',
      'sync.p50Ms',
      'sync.p99Ms',
      'async.completedPerSec',
      'async.e2eP50Ms',
      'async.e2eP99Ms',
      'cost.redisCommandsPerExecution',
      'cost.pgTransactionsPerExecution',
      'ratios.asyncVsFloor',
      'ratios.syncP50VsFloor',
    ];
    expect(required.filter((key) => !isNumber(get(results, key)))).toEqual([]);
    expect(results).toMatchObject({ schemaVersion: 1, mode: 'smoke' });
    expect(results.ratios.asyncVsFloor).toBeCloseTo(results.async.completedPerSec / results.floor.rps, 2);
    for (const section of ['bundle', 'cpuHeavy', 'memory', 'scaling', 'growth', 'webhook']) expect(results[section]).not.toBeNull();
    // The bundled script: its runs all completed, and its CPU is set against the one-line script's.
    expect(results.bundle.sourceBytes).toBeGreaterThanOrEqual(200 * 1024);
    expect(results.bundle.errors).toBe(0);
    expect(results.bundle.executions.completed).toBe(results.settings.bundleRequests);
    expect(results.bundle.cpuVsOneLine).toBeCloseTo(results.bundle.cpuMsPerRun / results.sync.cpuMsPerRun, 1);
    expect(output).toMatch(/wait mode, \d+ KiB script/);
    // The CPU-heavy wait-mode runs as the database saw them: every one completed, its sandbox phase measured.
    expect(results.cpuHeavy.syncExecutions.completed).toBeGreaterThan(0);
    expect(results.cpuHeavy.syncExecutions.failed).toBe(0);
    expect(isNumber(results.cpuHeavy.syncExecutions.phasesP50Ms.sandbox)).toBe(true);
    expect(results.targets.length).toBeGreaterThanOrEqual(9);
    for (const t of results.targets) expect(Object.keys(t).sort()).toEqual(['description', 'id', 'met', 'target', 'value']);
  });

  it('times every step of the wait-mode runs across the processes (--trace)', () => {
    expect(results.sync.steps.runs).toBeGreaterThan(0);
    expect(results.sync.steps.steps).toHaveLength(9);
    for (const step of results.sync.steps.steps) {
      expect(typeof step.label).toBe('string');
      expect(step.p50Ms).toBeGreaterThanOrEqual(0);
      expect(step.p99Ms).toBeGreaterThanOrEqual(step.p50Ms);
      expect(step.slowestMeanMs).toBeGreaterThanOrEqual(0);
    }
    expect(results.sync.steps.totalP50Ms).toBeGreaterThan(0);
    expect(results.sync.steps.totalP99Ms).toBeGreaterThanOrEqual(results.sync.steps.totalP50Ms);
    expect(results.sync.steps.slowestRuns).toBeGreaterThanOrEqual(1);
    expect(results.sync.steps.slowestMeanMs).toBeGreaterThanOrEqual(results.sync.steps.totalP50Ms);
    expect(output).toMatch(/sync steps over \d+ runs \(received → answered p50 [\d.]+ ms, p99 [\d.]+ ms/);
  });

  it('says what one wait-mode run costs each process, and the sum', () => {
    const perProcess = results.sync.perProcess as Record<string, { cpuMs: number; writeSyscalls: number }>;
    expect(Object.keys(perProcess)).toEqual(expect.arrayContaining(['gateway', 'worker-1', 'postgres', 'load generator (harness)']));
    // The gateway answers every run: it cannot have spent no CPU and made no write.
    expect(perProcess.gateway?.cpuMs).toBeGreaterThan(0);
    expect(perProcess.gateway?.writeSyscalls).toBeGreaterThanOrEqual(1);
    const sum = Object.values(perProcess).reduce((total, cost) => total + cost.cpuMs, 0);
    expect(results.sync.cpuMsPerRun).toBeCloseTo(sum, 2);
    expect(output).toMatch(/sync: per run, CPU ms [\d.]+ and write system calls: /);
  });

  it('counts real work: executions were accepted, run and counted from the database', () => {
    expect(results.async.window.statuses['202']).toBeGreaterThan(0);
    expect(results.async.window.executions.completed).toBeGreaterThan(0);
    expect(results.cost.executions).toBe(results.settings.costExecutions);
    expect(results.cost.pgTransactionsPerExecution).toBeGreaterThan(0);
    expect(results.cost.redisCommandsPerExecution).toBeGreaterThan(0);
  });

  it('cleans up its database and Redis keys', async () => {
    const rows: string[] = [];
    const { Client } = await import('pg');
    const client = new Client({ connectionString: env.adminDatabaseUrl });
    await client.connect();
    try {
      const res = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname = $1', [`kiln_bench_${results.runId}`]);
      rows.push(...res.rows.map((r) => r.datname));
    } finally {
      await client.end();
    }
    expect(rows).toEqual([]);
    const redis = new Redis(env.redisUrl);
    const left: string[] = [];
    try {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        left.push(...keys);
      } while (cursor !== '0');
    } finally {
      redis.disconnect();
    }
    expect(left).toEqual([]);
  });
});

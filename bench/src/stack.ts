import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Client, Pool, type QueryResultRow } from 'pg';
import { BenchApp, killAllApps, type AppName } from './app-process';
import { say } from './log';

export interface StackOptions {
  root: string;
  /** A PostgreSQL URL with rights to create databases (its own database does not matter). */
  adminUrl: string;
  redisUrl: string;
  runId: string;
  redisPrefix: string;
  logDir: string;
  /** When set, every app runs with --cpu-prof into this directory. */
  profileDir?: string;
  /** Set: every app writes step timestamps there (KILN_TRACE_DIR, see @kiln/observability). */
  traceDir?: string;
  env?: Record<string, string>;
}

export interface BenchTenant {
  id: string;
  key: string;
  scripts: Record<string, { id: string; source: string }>;
}

export const BENCH_DATABASE_PREFIX = 'kiln_bench_';
const EXECUTIONS_QUEUE = 'executions';

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** How the stack reaches PostgreSQL, for the report: a Unix socket (`?host=/dir`) or TCP. */
export function postgresTransport(url: string): string {
  const u = new URL(url);
  const socketDir = u.searchParams.get('host');
  if (socketDir?.startsWith('/')) return `unix socket ${socketDir}`;
  return `tcp ${u.hostname}:${u.port || '5432'}`;
}

export async function adminQuery<R extends QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<R[]> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function generateApiKey(): string {
  return `ak_${randomBytes(32).toString('hex')}`;
}

/**
 * A whole Kiln installation of the benchmark's own: a database created from
 * the migrations, a Redis prefix, and the gateway, worker(s) and notifier as
 * separate processes, as in production. stop() removes all of it.
 */
export class BenchStack {
  readonly apps: BenchApp[] = [];
  readonly databaseName: string;
  readonly databaseUrl: string;
  readonly adminKey = generateApiKey();
  readonly env: Record<string, string>;
  /** The harness's own pool on the bench database; `harnessQueries` counts what it sends (the cost scenario subtracts them). */
  readonly db: Pool;
  harnessQueries = 0;
  readonly redis: Redis;
  readonly queue: Queue;
  private workerSeq = 0;
  private stopped = false;
  private readonly starting = new Set<Promise<BenchApp>>();

  constructor(readonly options: StackOptions) {
    this.databaseName = `${BENCH_DATABASE_PREFIX}${options.runId}`;
    this.databaseUrl = withDatabase(options.adminUrl, this.databaseName);
    this.env = {
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      DATABASE_URL: this.databaseUrl,
      REDIS_URL: options.redisUrl,
      KILN_REDIS_PREFIX: options.redisPrefix,
      KILN_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      KILN_ADMIN_KEY: this.adminKey,
      HOST: '127.0.0.1',
      PORT: '0',
      KILN_WORKER_PORT: '0',
      KILN_NOTIFIER_PORT: '0',
      KILN_SHUTDOWN_GRACE_MS: '5000',
      // The benchmark measures the engine, not the quotas in front of it:
      // one tenant and one key send everything, so their limits are opened.
      KILN_RATE_LIMIT_BURST: '1000000',
      KILN_RATE_LIMIT_REFILL_PER_SEC: '1000000',
      KILN_TENANT_CONCURRENCY: '10000',
      // The webhook scenario's receiver listens on loopback.
      KILN_OUTBOUND_ALLOW: '127.0.0.1',
      ...(options.traceDir ? { KILN_TRACE_DIR: options.traceDir } : {}),
      ...options.env,
    };
    this.db = new Pool({ connectionString: this.databaseUrl, max: 4, application_name: 'kiln-bench-harness' });
    this.db.on('error', () => undefined);
    this.redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 2, lazyConnect: true });
    this.redis.on('error', () => undefined);
    this.queue = new Queue(EXECUTIONS_QUEUE, { connection: this.redis, prefix: options.redisPrefix });
    this.queue.on('error', () => undefined);
  }

  async createDatabase(): Promise<void> {
    await adminQuery(this.options.adminUrl, `DROP DATABASE IF EXISTS "${this.databaseName}" WITH (FORCE)`);
    say(`database ${this.databaseName}: migrating`);
    const output: string[] = [];
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(this.options.root, 'tools', 'prisma', 'migrate.mjs')], {
        cwd: this.options.root,
        env: { ...process.env, DATABASE_URL: this.databaseUrl },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.on('data', (c: Buffer) => output.push(c.toString()));
      child.stderr.on('data', (c: Buffer) => output.push(c.toString()));
      child.on('error', reject);
      child.on('exit', (c) => resolve(c ?? 1));
    });
    if (code !== 0) throw new Error(`migrating ${this.databaseName} failed:\n${output.join('')}`);
    await this.redis.connect().catch(() => undefined);
  }

  /** A query of the harness on the bench database (counted). */
  async query<R extends QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    this.harnessQueries += 1;
    return (await this.db.query<R>(sql, params)).rows;
  }

  /** With --profile, each app carries profiler-preload.js (SIGWINCH toggles its CPU profiler). */
  private profiling(label: string): { nodeArgs: string[]; env: Record<string, string> } {
    if (!this.options.profileDir) return { nodeArgs: [], env: {} };
    return {
      nodeArgs: ['--require', path.join(__dirname, 'profiler-preload.js')],
      env: { KILN_BENCH_PROFILE_DIR: this.options.profileDir, KILN_BENCH_APP_LABEL: label },
    };
  }

  async startApp(name: AppName, extraEnv: Record<string, string> = {}, label?: string): Promise<BenchApp> {
    if (this.stopped) throw new Error('the bench stack is stopped');
    const appLabel = label ?? (name === 'worker' ? `worker-${++this.workerSeq}` : name);
    const profiling = this.profiling(appLabel);
    const starting = BenchApp.start(name, {
      root: this.options.root,
      env: { ...this.env, ...(name === 'worker' ? { KILN_WORKER_ID: `bench-${appLabel}` } : {}), ...profiling.env, ...extraEnv },
      logDir: this.options.logDir,
      label: appLabel,
      nodeArgs: profiling.nodeArgs,
    });
    // stop() waits for apps still starting (a sibling's failure must not leave them running).
    this.starting.add(starting);
    try {
      const app = await starting;
      this.apps.push(app);
      if (this.stopped) await app.stop();
      return app;
    } finally {
      this.starting.delete(starting);
    }
  }

  async startAll(): Promise<void> {
    const started = await Promise.allSettled([this.startApp('gateway'), this.startApp('worker'), this.startApp('notifier')]);
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  get gateway(): BenchApp {
    const app = this.apps.find((a) => a.name === 'gateway' && !a.hasExited);
    if (!app) throw new Error('no gateway running');
    return app;
  }

  get workers(): BenchApp[] {
    return this.apps.filter((a) => a.name === 'worker' && !a.hasExited);
  }

  get url(): string {
    return this.gateway.url;
  }

  runningPids(): number[] {
    return this.apps.filter((a) => !a.hasExited).map((a) => a.pid);
  }

  async stopApp(app: BenchApp): Promise<void> {
    await app.stop();
    this.apps.splice(this.apps.indexOf(app), 1);
  }

  /** JSON over HTTP against the gateway, for provisioning (not for measuring). */
  async api<T>(method: string, urlPath: string, key: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await fetch(`${this.url}${urlPath}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed as T };
  }

  /** One tenant, one key with the default scopes, and one script per name. */
  async provision(scripts: Record<string, string>): Promise<BenchTenant> {
    const slug = `bench-${this.options.runId}`.slice(0, 60);
    const tenant = await this.api<{ id: string }>('POST', '/v1/tenants', this.adminKey, { name: slug, slug });
    if (tenant.status !== 201) throw new Error(`creating the bench tenant: HTTP ${tenant.status} ${JSON.stringify(tenant.body)}`);
    const key = await this.api<{ key: string }>('POST', '/v1/api-keys', this.adminKey, { name: 'bench', tenantId: tenant.body.id });
    if (key.status !== 201) throw new Error(`creating the bench key: HTTP ${key.status} ${JSON.stringify(key.body)}`);
    const created: BenchTenant['scripts'] = {};
    for (const [name, source] of Object.entries(scripts)) {
      const res = await this.api<{ id: string }>('POST', '/v1/scripts', key.body.key, { name: `bench-${name}`, source });
      if (res.status !== 201) throw new Error(`creating script ${name}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
      created[name] = { id: res.body.id, source };
    }
    return { id: tenant.body.id, key: key.body.key, scripts: created };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.allSettled([...this.starting]);
    await Promise.all(this.apps.map((a) => a.stop().catch(() => undefined)));
    await this.queue.close().catch(() => undefined);
    await this.db.end().catch(() => undefined);
    const removed = await deleteRedisPrefix(this.redis, this.options.redisPrefix).catch(() => 0);
    this.redis.disconnect();
    await adminQuery(this.options.adminUrl, `DROP DATABASE IF EXISTS "${this.databaseName}" WITH (FORCE)`).catch((err: unknown) =>
      say(`cleanup: could not drop ${this.databaseName}: ${(err as Error).message}`),
    );
    say(`cleaned up: database ${this.databaseName} dropped, ${removed} Redis keys under ${this.options.redisPrefix}: removed`);
  }

  /** Synchronous last resort (process exit): kill what still runs, started or starting. */
  killNow(): void {
    for (const app of this.apps) app.killNow();
    killAllApps();
  }
}

export async function deleteRedisPrefix(redis: Redis, prefix: string): Promise<number> {
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

/** Databases of benchmark runs that crashed or were killed more than two hours ago. */
export async function dropStaleBenchDatabases(adminUrl: string): Promise<number> {
  const cutoff = Math.floor(Date.now() / 1000) - 2 * 3600;
  const rows = await adminQuery<{ datname: string }>(adminUrl, `SELECT datname FROM pg_database WHERE starts_with(datname, $1)`, [BENCH_DATABASE_PREFIX]);
  let dropped = 0;
  for (const { datname } of rows) {
    const stamp = parseInt(datname.slice(BENCH_DATABASE_PREFIX.length).slice(0, 6), 36);
    if (Number.isFinite(stamp) && stamp < cutoff) {
      await adminQuery(adminUrl, `DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`).catch(() => undefined);
      dropped += 1;
    }
  }
  return dropped;
}

import { generateApiKey } from '@kiln/core';
import { randomBytes } from 'node:crypto';
import { QueueName } from '@kiln/queue';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { AppProcess, type AppName } from './app-process';
import { ApiClient } from './http-client';
import { createTestDatabase, type TestDatabase } from './test-database';
import { createTestRedisPrefix } from './test-redis';

export interface KilnStackOptions {
  /** Which processes to start; default gateway + worker (+ notifier). */
  apps?: AppName[];
  env?: Record<string, string>;
}

/**
 * A whole Kiln installation for one test file: its own database (cloned from
 * the migrated template), its own Redis prefix, real app processes on
 * loopback, and an admin key.
 */
export class KilnStack {
  readonly processes: AppProcess[] = [];
  private queue: Queue | undefined;
  private queueConnection: Redis | undefined;

  private constructor(
    readonly database: TestDatabase,
    readonly redis: { prefix: string; url: string; cleanup(): Promise<number> },
    readonly adminKey: string,
    readonly env: Record<string, string>,
  ) {}

  static async start(options: KilnStackOptions = {}): Promise<KilnStack> {
    const database = await createTestDatabase();
    const redis = createTestRedisPrefix();
    const adminKey = generateApiKey();
    const env: Record<string, string> = {
      DATABASE_URL: database.url,
      REDIS_URL: redis.url,
      KILN_REDIS_PREFIX: redis.prefix,
      KILN_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      KILN_ADMIN_KEY: adminKey,
      HOST: '127.0.0.1',
      PORT: '0',
      KILN_WORKER_PORT: '0',
      KILN_NOTIFIER_PORT: '0',
      KILN_DB_POOL_SIZE: '4',
      KILN_SANDBOX_PROCESSES: '1',
      KILN_SHUTDOWN_GRACE_MS: '5000',
      ...options.env,
    };
    const stack = new KilnStack(database, redis, adminKey, env);
    try {
      for (const app of options.apps ?? ['gateway', 'worker']) await stack.startApp(app);
    } catch (err) {
      await stack.stop();
      throw err;
    }
    return stack;
  }

  async startApp(app: AppName, extraEnv: Record<string, string> = {}): Promise<AppProcess> {
    const process = await AppProcess.start(app, { ...this.env, ...extraEnv });
    this.processes.push(process);
    return process;
  }

  app(name: AppName): AppProcess {
    const found = this.processes.find((p) => p.name === name && !p.hasExited);
    if (!found) throw new Error(`no running ${name}`);
    return found;
  }

  get url(): string {
    const gateway = this.processes.find((p) => (p.name === 'gateway' || p.name === 'all-in-one') && !p.hasExited);
    if (!gateway) throw new Error('no gateway running');
    return gateway.url;
  }

  /** A client with the admin key of the `default` tenant. */
  admin(): ApiClient {
    return new ApiClient(this.url, this.adminKey);
  }

  /** Creates a tenant and a key on it with the default scopes. */
  async tenant(slug = `t-${randomBytes(3).toString('hex')}`): Promise<{ id: string; slug: string; client: ApiClient; key: string }> {
    const admin = this.admin();
    const tenant = await admin.post('/v1/tenants', { name: slug, slug });
    if (tenant.status !== 201) throw new Error(`tenant create: ${tenant.status} ${tenant.text}`);
    const key = await admin.post('/v1/api-keys', { name: 'test', tenantId: tenant.body.id });
    if (key.status !== 201) throw new Error(`key create: ${key.status} ${key.text}`);
    return { id: tenant.body.id, slug, key: key.body.key, client: new ApiClient(this.url, key.body.key) };
  }

  /** The stack's `executions` queue, to look at or pause from a test; closed by stop(). */
  executionsQueue(): Queue {
    if (!this.queue) {
      this.queueConnection = new Redis(this.redis.url, { maxRetriesPerRequest: null });
      this.queue = new Queue(QueueName.Executions, { connection: this.queueConnection, prefix: this.redis.prefix });
    }
    return this.queue;
  }

  async stop(): Promise<void> {
    await this.queue?.close().catch(() => undefined);
    this.queueConnection?.disconnect();
    await Promise.all(this.processes.map((p) => p.stop('SIGTERM', 10_000).catch(() => undefined)));
    await this.database.drop().catch(() => undefined);
    await this.redis.cleanup().catch(() => undefined);
  }
}

import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { loadConfig, type KilnConfig } from '@kiln/config';
import { uuidv7 } from '@kiln/core';
import { Database, ExecutionRepository } from '@kiln/db';
import { createLogger } from '@kiln/observability';
import { ExecutionQueue, JobName, QueueName } from '@kiln/queue';
import { UnrecoverableError, Worker } from 'bullmq';
import { createTestDatabase, createTestRedisPrefix, type TestDatabase } from '@kiln/testing';
import type { ExecutionRunner } from '../src/execution-runner';
import { PendingReconciler } from '../src/pending-reconciler';

// A pending row whose job never reached Redis (the gateway died between the
// INSERT and the enqueue) must get its job back, exactly once.
describe('pending reconciler (real PostgreSQL and Redis)', () => {
  const redisEnv = createTestRedisPrefix();
  const redis = new Redis(redisEnv.url);
  const logger = createLogger({ name: 'reconciler-test', level: 'silent' });
  const tenantId = randomUUID();
  let testDb: TestDatabase;
  let db: Database;
  let config: KilnConfig;
  let queue: ExecutionQueue;
  const lost: string[] = [];

  beforeAll(async () => {
    testDb = await createTestDatabase();
    db = new Database({ url: testDb.url, poolSize: 2 });
    config = loadConfig({
      KILN_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      DATABASE_URL: testDb.url,
      REDIS_URL: redisEnv.url,
      KILN_REDIS_PREFIX: redisEnv.prefix,
      KILN_RECONCILE_AFTER_MS: '0',
    });
    queue = new ExecutionQueue({ connection: redis, prefix: redisEnv.prefix, attempts: 3 });
  });

  afterAll(async () => {
    await queue.close();
    await db.close();
    redis.disconnect();
    await testDb.drop();
    await redisEnv.cleanup();
  });

  const reconciler = (withConfig: KilnConfig = config) =>
    new PendingReconciler(withConfig, logger, redis, new ExecutionRepository(db), queue, {
      markLost: (id: string) => Promise.resolve(void lost.push(id)),
    } as unknown as ExecutionRunner);

  async function pendingRow(approvalStatus: string | null = null, createdAt: Date = new Date()): Promise<string> {
    const id = uuidv7();
    await db.pool.query(
      `INSERT INTO executions (id, tenant_id, status, trigger, timeout_ms, memory_mb, approval_status, created_at)
       VALUES ($1, $2, 'pending', '{"type":"api"}', 30000, 64, $3, $4)`,
      [id, tenantId, approvalStatus, createdAt],
    );
    return id;
  }

  it('re-adds a missing job, leaves present ones alone, and is idempotent', async () => {
    const orphan = await pendingRow();
    const approved = await pendingRow('approved');
    const queued = await pendingRow();
    await queue.enqueueRun(queued, { tenantId });

    const first = await reconciler().pass();
    expect(first).toEqual({ checked: 3, reenqueued: 2, lost: 0 });
    expect(await queue.queue.getJobState(orphan)).toBe('waiting');
    expect(await queue.queue.getJobState(`${approved}.approved`)).toBe('waiting');
    expect(await queue.queue.getJobState(approved)).toBe('unknown');

    const second = await reconciler().pass();
    expect(second).toEqual({ checked: 3, reenqueued: 0, lost: 0 });
    expect(await queue.queue.getWaitingCount()).toBe(3);
  });

  it('leaves runs that may wait in a batch job alone until the backlog has passed them', async () => {
    await queue.queue.obliterate({ force: true });
    await db.pool.query('DELETE FROM executions');
    const afterMs = 2000;
    const withSlack = { ...config, reconcile: { ...config.reconcile, afterMs } };
    const now = Date.now();
    // A batch accepted 5 s ago whose job still waits, and an orphan from 20 s ago.
    const batched = [await pendingRow(null, new Date(now - 5000)), await pendingRow(null, new Date(now - 5000))];
    await queue.queue.add(
      JobName.ExecutionBatch,
      { runs: batched.map((executionId) => ({ executionId, tenantId })) },
      { jobId: `batch.${batched[0]}`, timestamp: now - 4995 },
    );
    const orphan = await pendingRow(null, new Date(now - 20_000));

    expect(await reconciler(withSlack).pass()).toEqual({ checked: 3, reenqueued: 1, lost: 0 });
    expect(await queue.queue.getJobState(orphan)).toBe('waiting');
    for (const id of batched) expect(await queue.queue.getJobState(id)).toBe('unknown');

    // Once the batch job is gone (taken, or lost with Redis), its runs are looked after again.
    await queue.queue.remove(`batch.${batched[0]}`);
    await queue.queue.remove(orphan);
    expect(await reconciler(withSlack).pass()).toEqual({ checked: 3, reenqueued: 3, lost: 0 });
  });

  it('names the script version in a re-added job, so a worker that holds its source does not read it again', async () => {
    await queue.queue.obliterate({ force: true });
    await db.pool.query('DELETE FROM executions');
    const [owner, scriptId] = [randomUUID(), randomUUID()];
    await db.pool.query(`INSERT INTO tenants (id, name, slug, webhook_secret_enc, updated_at) VALUES ($1, 't', $2, 'x', now())`, [owner, `t-${owner}`]);
    await db.pool.query(`INSERT INTO scripts (id, tenant_id, name, current_version, updated_at) VALUES ($1, $2, 's', 4, now())`, [scriptId, owner]);
    const id = uuidv7();
    await db.pool.query(
      `INSERT INTO executions (id, tenant_id, script_id, script_version, status, trigger, timeout_ms, memory_mb)
       VALUES ($1, $2, $3, 4, 'pending', '{"type":"api"}', 30000, 64)`,
      [id, owner, scriptId],
    );
    expect(await reconciler().pass()).toEqual({ checked: 1, reenqueued: 1, lost: 0 });
    expect((await queue.queue.getJob(id))?.data).toEqual({ executionId: id, tenantId: owner, script: { id: scriptId, version: 4 } });
  });

  it('ends a row whose job failed for good as lost', async () => {
    const id = await pendingRow();
    await queue.enqueueRun(id, { tenantId });
    const connection = redis.duplicate({ maxRetriesPerRequest: null });
    const failing = new Worker(QueueName.Executions, () => Promise.reject(new UnrecoverableError('gave up')), {
      connection,
      prefix: redisEnv.prefix,
    });
    await new Promise<void>((resolve) => failing.on('failed', (job) => job?.id === id && resolve()));
    await failing.close();
    connection.disconnect();
    expect(await queue.queue.getJobState(id)).toBe('failed');
    await reconciler().pass();
    expect(lost).toContain(id);
  });

  it('lets only one worker reconcile at a time', async () => {
    const holder = await redis.set(`${redisEnv.prefix}:reconcile:lock`, 'someone-else', 'PX', 5000, 'NX');
    expect(holder).toBe('OK');
    expect(await reconciler().pass()).toBeNull();
    await redis.del(`${redisEnv.prefix}:reconcile:lock`);
  });
});

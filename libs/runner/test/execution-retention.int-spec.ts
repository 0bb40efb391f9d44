import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { loadConfig, type KilnConfig } from '@kiln/config';
import { Database } from '@kiln/db';
import { createLogger } from '@kiln/observability';
import { createTestDatabase, createTestRedisPrefix, type TestDatabase } from '@kiln/testing';
import { ExecutionRetention } from '../src/execution-retention';

// KILN_EXECUTION_RETENTION_DAYS against a real PostgreSQL and Redis: what
// goes, what stays, one purger at a time, and writes that never wait for it.
describe('execution retention (real PostgreSQL and Redis)', () => {
  const redisEnv = createTestRedisPrefix();
  const redis = new Redis(redisEnv.url);
  const logger = createLogger({ name: 'retention-test', level: 'silent' });
  let testDb: TestDatabase;
  let db: Database;
  const tenantId = randomUUID();

  const configWith = (days: string | undefined): KilnConfig =>
    loadConfig({
      KILN_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      DATABASE_URL: testDb.url,
      REDIS_URL: redisEnv.url,
      KILN_REDIS_PREFIX: redisEnv.prefix,
      ...(days !== undefined ? { KILN_EXECUTION_RETENTION_DAYS: days } : {}),
    });
  const retention = (days = '30') => new ExecutionRetention(configWith(days), logger, db, redis);

  /** One execution per status, created `ageDays` ago; returns its id. */
  async function execution(status: string, ageDays: number): Promise<string> {
    const id = randomUUID();
    await db.pool.query(
      `INSERT INTO executions (id, tenant_id, status, trigger, timeout_ms, memory_mb, created_at, finished_at)
       VALUES ($1, $2, $3::"ExecutionStatus", '{"type":"api"}', 30000, 64, now() - make_interval(days => $4::int), 
               CASE WHEN $3 IN ('completed', 'failed', 'cancelled') THEN now() - make_interval(days => $4::int) END)`,
      [id, tenantId, status, ageDays],
    );
    return id;
  }

  async function idempotencyKey(key: string, expiresInHours: number): Promise<void> {
    await db.pool.query(
      `INSERT INTO idempotency_keys (tenant_id, key, execution_id, expires_at) VALUES ($1, $2, $3, now() + make_interval(hours => $4::int))`,
      [tenantId, key, randomUUID(), expiresInHours],
    );
  }

  /** A webhook delivery (with one attempt) created `ageDays` ago; returns its id. */
  async function delivery(status: 'pending' | 'succeeded' | 'failed', ageDays: number): Promise<string> {
    const id = randomUUID();
    await db.pool.query(
      `INSERT INTO webhook_deliveries (id, tenant_id, source, execution_id, event, url, message_id, payload, status, created_at)
       VALUES ($1::uuid, $2, 'run', $3, 'execution.completed', 'http://127.0.0.1:9/hook', 'msg_' || $1::text, '{}', $4::"DeliveryStatus", now() - make_interval(days => $5::int))`,
      [id, tenantId, randomUUID(), status, ageDays],
    );
    await db.pool.query(`INSERT INTO webhook_attempts (id, delivery_id, attempt, status_code, latency_ms) VALUES ($1, $2, 0, 200, 5)`, [randomUUID(), id]);
    return id;
  }

  const remaining = async (ids: string[]): Promise<string[]> =>
    (await db.pool.query<{ id: string }>('SELECT id::text FROM executions WHERE id = ANY($1::uuid[]) ORDER BY id', [ids])).rows.map((r) => r.id);

  beforeAll(async () => {
    testDb = await createTestDatabase();
    db = new Database({ url: testDb.url, poolSize: 4 });
  });

  beforeEach(async () => {
    await db.pool.query('TRUNCATE executions, idempotency_keys, webhook_deliveries CASCADE');
  });

  afterAll(async () => {
    await db?.close();
    await testDb?.drop();
    redis.disconnect();
    await redisEnv.cleanup();
  });

  it('is off by default: nothing is purged', async () => {
    expect(configWith(undefined).retention.executionDays).toBe(0);
    const old = await execution('completed', 400);
    const report = await new ExecutionRetention(configWith(undefined), logger, db, redis).purgeOnce();
    expect(report.outcome).toBe('disabled');
    expect(await remaining([old])).toEqual([old]);
  });

  it('purges finished executions older than N days in batches; newer and unfinished ones stay; expired idempotency keys go', async () => {
    const doomed = [
      ...(await Promise.all(Array.from({ length: 5 }, () => execution('completed', 31)))),
      await execution('failed', 45),
      await execution('cancelled', 400),
    ];
    const kept = [
      await execution('completed', 29),
      await execution('failed', 1),
      await execution('pending', 31),
      await execution('running', 31),
      await execution('pending_approval', 90),
    ];
    await idempotencyKey('expired', -1);
    await idempotencyKey('live', 5);

    const report = await retention('30').purgeOnce({ batchSize: 2, pauseMs: 0 });

    expect(report).toMatchObject({ outcome: 'purged', executions: doomed.length, idempotencyKeys: 1 });
    expect(report.batches).toBeGreaterThan(doomed.length / 2);
    expect(await remaining([...doomed, ...kept])).toEqual([...kept].sort());
    const keys = await db.pool.query<{ key: string }>('SELECT key FROM idempotency_keys ORDER BY key');
    expect(keys.rows.map((r) => r.key)).toEqual(['live']);
    // The cluster-wide lock is released at the end of a pass.
    expect(await redis.exists(`${redisEnv.prefix}:retention:lock`)).toBe(0);
  });

  it('purges finished webhook deliveries as old as that, with their attempts; pending and newer ones stay', async () => {
    const doomed = [await delivery('succeeded', 31), await delivery('failed', 45), await delivery('succeeded', 400)];
    const kept = [await delivery('pending', 60), await delivery('succeeded', 29), await delivery('failed', 1)];

    const report = await retention('30').purgeOnce({ batchSize: 2, pauseMs: 0 });

    expect(report).toMatchObject({ outcome: 'purged', executions: 0, webhookDeliveries: doomed.length });
    const left = await db.pool.query<{ id: string }>('SELECT id::text FROM webhook_deliveries ORDER BY id');
    expect(left.rows.map((r) => r.id)).toEqual([...kept].sort());
    const attempts = await db.pool.query<{ delivery_id: string }>('SELECT delivery_id::text FROM webhook_attempts ORDER BY delivery_id');
    expect(attempts.rows.map((r) => r.delivery_id)).toEqual([...kept].sort());
  });

  it('lets only one worker purge at a time', async () => {
    const old = await execution('completed', 60);
    await redis.set(`${redisEnv.prefix}:retention:lock`, 'another-worker', 'PX', 60_000);
    const blocked = await retention('30').purgeOnce();
    expect(blocked.outcome).toBe('locked');
    expect(await remaining([old])).toEqual([old]);
    // The holder's lock is left alone, then the next pass after it is gone does the work.
    expect(await redis.get(`${redisEnv.prefix}:retention:lock`)).toBe('another-worker');
    await redis.del(`${redisEnv.prefix}:retention:lock`);
    expect((await retention('30').purgeOnce()).outcome).toBe('purged');
    expect(await remaining([old])).toEqual([]);
  });

  it('never makes writes wait: inserts go on during a purge, and a row locked by someone else is skipped, not waited for', async () => {
    await db.pool.query(
      `INSERT INTO executions (id, tenant_id, status, trigger, timeout_ms, memory_mb, created_at, finished_at)
       SELECT gen_random_uuid(), $1, 'completed', '{"type":"api"}', 30000, 64, now() - interval '40 days' - g * interval '1 second', now() - interval '40 days'
         FROM generate_series(1, 6000) g`,
      [tenantId],
    );
    const held = await execution('completed', 35);
    // Another session holds a row lock on one old row for the whole purge.
    const other = new Client({ connectionString: testDb.url });
    await other.connect();
    await other.query('BEGIN');
    await other.query('SELECT id FROM executions WHERE id = $1 FOR UPDATE', [held]);

    let purgeDone = false;
    const purge = retention('30')
      .purgeOnce({ batchSize: 200, pauseMs: 10 })
      .finally(() => {
        purgeDone = true;
      });
    let insertsBeforeEnd = 0;
    const inserted: string[] = [];
    while (!purgeDone) {
      inserted.push(await execution('pending', 0));
      if (!purgeDone) insertsBeforeEnd += 1;
    }
    const report = await purge;
    await other.query('COMMIT');
    await other.end();

    expect(report.outcome).toBe('purged');
    expect(report.executions).toBe(6000);
    expect(report.batches).toBeGreaterThan(10);
    // Writes interleaved with the purge instead of queueing behind it.
    expect(insertsBeforeEnd).toBeGreaterThan(0);
    expect(await remaining(inserted)).toHaveLength(inserted.length);
    // The locked row was skipped, and goes on the next pass.
    expect(await remaining([held])).toEqual([held]);
    expect((await retention('30').purgeOnce()).executions).toBe(1);
  });
});

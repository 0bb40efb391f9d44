import { randomUUID } from 'node:crypto';
import type { QueryConfig } from 'pg';
import { createTestDatabase, type TestDatabase } from '@kiln/testing';
import { Database, WebhookDeliveryRepository, type AttemptRecord } from '../src';

// The notifier's two statements per attempt (load, record) batched by group
// commit: attempts recorded together in one statement must leave exactly the
// rows that recording them one at a time leaves, and one record that
// PostgreSQL refuses must not take the others of its batch down with it.
describe('webhook delivery group commit (real PostgreSQL)', () => {
  let testDb: TestDatabase;
  let db: Database;
  let repo: WebhookDeliveryRepository;
  const tenantId = randomUUID();

  beforeAll(async () => {
    testDb = await createTestDatabase();
    db = new Database({ url: testDb.url, poolSize: 4 });
    repo = new WebhookDeliveryRepository(db);
    await db.pool.query(`INSERT INTO tenants (id, name, slug, webhook_secret_enc, updated_at) VALUES ($1, 't', $2, 'tenant-secret', now())`, [
      tenantId,
      `t-${tenantId.slice(0, 8)}`,
    ]);
  });

  afterAll(async () => {
    jest.restoreAllMocks();
    await db.close();
    await testDb.drop();
  });

  async function subscription(): Promise<string> {
    const id = randomUUID();
    await db.pool.query(
      `INSERT INTO webhook_subscriptions (id, tenant_id, url, events, secret_enc, updated_at)
       VALUES ($1, $2, 'http://127.0.0.1:9/sub', ARRAY['execution.completed'], $3, now())`,
      [id, tenantId, `sealed-${id}`],
    );
    return id;
  }

  /** A pending outbox row, as the finish statement writes it. */
  async function delivery(subscriptionId: string | null, n: number): Promise<string> {
    const id = randomUUID();
    await db.pool.query(
      `INSERT INTO webhook_deliveries (id, tenant_id, subscription_id, source, execution_id, event, url, message_id, payload, status, attempts, retry_base, next_attempt_at, created_at)
       VALUES ($1, $2, $3, $4, $5, 'execution.completed', $6, $7, $8::jsonb, 'pending', 0, 0, '2030-01-01T00:00:00Z', now())`,
      [
        id,
        tenantId,
        subscriptionId,
        subscriptionId ? 'subscription' : 'run',
        randomUUID(),
        `http://127.0.0.1:9/run/${n}`,
        `msg_${n}`,
        JSON.stringify({ event: 'execution.completed', n }),
      ],
    );
    return id;
  }

  /** The statements sent on the durable pool from now on, by the size of their first parameter (the batch). */
  function countStatements(): { batchSizes: () => number[]; stop: () => void } {
    const spy = jest.spyOn(db.pool, 'query');
    return {
      batchSizes: () =>
        spy.mock.calls.map(([config]) => {
          const first = (config as unknown as QueryConfig).values?.[0];
          return Array.isArray(first) ? first.length : 1;
        }),
      stop: () => spy.mockRestore(),
    };
  }

  async function state(ids: readonly string[]) {
    const { rows } = await db.pool.query<Record<string, unknown>>(
      `SELECT d.id::text, d.status::text, d.attempts, d.url, d.last_status_code, d.last_error, d.next_attempt_at,
              d.enqueued_at IS NOT NULL AS enqueued, d.completed_at IS NOT NULL AS completed,
              COALESCE((SELECT json_agg(json_build_array(a.attempt, a.status_code, a.latency_ms, a.error) ORDER BY a.attempt)
                          FROM webhook_attempts a WHERE a.delivery_id = d.id), '[]'::json) AS attempts_log,
              s.active AS sub_active, s.disabled_reason
         FROM webhook_deliveries d LEFT JOIN webhook_subscriptions s ON s.id = d.subscription_id
        WHERE d.id = ANY($1::uuid[])`,
      [ids],
    );
    // In the order of `ids`, without the ids themselves, so that two sets compare.
    return ids.map((id) => {
      const { id: _, ...rest } = rows.find((r) => r.id === id) ?? {};
      return rest;
    });
  }

  it('loads concurrent deliveries in one statement, each its own row, null for an unknown id', async () => {
    const sub = await subscription();
    const ids = await Promise.all(Array.from({ length: 10 }, (_, i) => delivery(i % 2 === 0 ? sub : null, i)));
    const alone = await Promise.all(ids.map(async (id) => (await repo.loadManyForSending([id])).get(id)));

    const statements = countStatements();
    const loaded = await Promise.all([...ids, randomUUID()].map((id) => repo.loadForSending(id)));
    const sizes = statements.batchSizes();
    statements.stop();

    expect(loaded.slice(0, 10)).toEqual(alone);
    expect(loaded[10]).toBeNull();
    expect(loaded[0]).toMatchObject({ source: 'subscription', subscriptionId: sub, target: { exists: true, active: true, secretEnc: `sealed-${sub}` } });
    expect(loaded[1]).toMatchObject({ source: 'run', url: 'http://127.0.0.1:9/run/1', target: { url: 'http://127.0.0.1:9/run/1', secretEnc: 'tenant-secret' } });
    // The first two go at once (two statements may be in flight); the other nine wait and share one.
    expect(sizes).toEqual([1, 1, 9]);
  });

  it('records concurrent attempts in one statement with the same rows as one at a time', async () => {
    // Two identical sets: one recorded all at once, the other one record at a time.
    const makeSet = async () => {
      const [gone, kept] = [await subscription(), await subscription()];
      const ids = [await delivery(gone, 0), await delivery(kept, 1), await delivery(null, 2), await delivery(null, 3), await delivery(kept, 4), await delivery(null, 5)];
      const at = new Date('2030-01-01T00:00:01.234Z');
      const records: AttemptRecord[] = [
        { deliveryId: ids[0]!, expectedAttempts: 0, url: 'http://a/gone', statusCode: 410, latencyMs: 3.4, error: 'HTTP 410 Gone', status: 'failed', nextAttemptAt: null, disableSubscriptionReason: 'HTTP 410 Gone from http://a' },
        { deliveryId: ids[1]!, expectedAttempts: 0, url: 'http://a/ok', statusCode: 200, latencyMs: 7, error: null, status: 'succeeded', nextAttemptAt: null, disableSubscriptionReason: null },
        { deliveryId: ids[2]!, expectedAttempts: 0, url: 'http://a/retry', statusCode: 500, latencyMs: 12.6, error: 'HTTP 500: down', status: 'pending', nextAttemptAt: at, disableSubscriptionReason: null },
        { deliveryId: ids[3]!, expectedAttempts: 0, url: 'http://a/refused', statusCode: null, latencyMs: 1, error: 'CONNECTION_FAILED: refused', status: 'failed', nextAttemptAt: null, disableSubscriptionReason: null },
        // A stale copy: the row has 0 attempts, this job thinks 1.
        { deliveryId: ids[4]!, expectedAttempts: 1, url: 'http://a/stale', statusCode: 200, latencyMs: 2, error: null, status: 'succeeded', nextAttemptAt: null, disableSubscriptionReason: null },
        { deliveryId: ids[5]!, expectedAttempts: 0, url: 'http://a/twice', statusCode: 200, latencyMs: 4, error: null, status: 'succeeded', nextAttemptAt: null, disableSubscriptionReason: null },
        // Two copies of one job, both sent: only one may be recorded.
        { deliveryId: ids[5]!, expectedAttempts: 0, url: 'http://a/twice', statusCode: 200, latencyMs: 4, error: null, status: 'succeeded', nextAttemptAt: null, disableSubscriptionReason: null },
      ];
      return { ids, records };
    };
    const together = await makeSet();
    const oneByOne = await makeSet();

    const statements = countStatements();
    const recordedTogether = await Promise.all(together.records.map((r) => repo.recordAttempt(r)));
    const sizes = statements.batchSizes();
    statements.stop();
    const recordedOneByOne: boolean[] = [];
    for (const r of oneByOne.records) recordedOneByOne.push(await repo.recordAttempts([r]).then(([ok]) => ok!));

    expect(recordedOneByOne).toEqual([true, true, true, true, false, true, false]);
    expect(recordedTogether).toEqual(recordedOneByOne);
    expect(sizes).toEqual([1, 1, 5]);
    const after = await state(together.ids);
    expect(after).toEqual(await state(oneByOne.ids));
    expect(after[0]).toMatchObject({ status: 'failed', attempts: 1, sub_active: false, disabled_reason: 'HTTP 410 Gone from http://a', attempts_log: [[1, 410, 3, 'HTTP 410 Gone']] });
    expect(after[1]).toMatchObject({ status: 'succeeded', attempts: 1, url: 'http://a/ok', last_status_code: 200, completed: true, sub_active: true, attempts_log: [[1, 200, 7, null]] });
    expect(after[2]).toMatchObject({ status: 'pending', attempts: 1, next_attempt_at: new Date('2030-01-01T00:00:01.234Z'), enqueued: true, completed: false, attempts_log: [[1, 500, 13, 'HTTP 500: down']] });
    expect(after[3]).toMatchObject({ status: 'failed', last_status_code: null, last_error: 'CONNECTION_FAILED: refused', completed: true });
    expect(after[4]).toMatchObject({ status: 'pending', attempts: 0, enqueued: false, attempts_log: [] });
    expect(after[5]).toMatchObject({ status: 'succeeded', attempts: 1, attempts_log: [[1, 200, 4, null]] });
  });

  it('a record that PostgreSQL refuses fails alone; the others of its batch are recorded', async () => {
    const ids = await Promise.all(Array.from({ length: 6 }, (_, i) => delivery(null, i)));
    const record = (deliveryId: string, error: string | null): AttemptRecord => ({
      deliveryId,
      expectedAttempts: 0,
      url: 'http://a/x',
      statusCode: error ? 500 : 200,
      latencyMs: 5,
      error,
      status: error ? 'pending' : 'succeeded',
      nextAttemptAt: error ? new Date(Date.now() + 1000) : null,
      disableSubscriptionReason: null,
    });
    // A text value with a NUL byte: PostgreSQL rejects the whole statement.
    const bad = ids[3]!;
    const statements = countStatements();
    const results = await Promise.allSettled(ids.map((id) => repo.recordAttempt(record(id, id === bad ? 'HTTP 500: \u0000' : null))));
    const sizes = statements.batchSizes();
    statements.stop();

    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((results[3] as PromiseRejectedResult).reason).toMatchObject({ message: expect.stringMatching(/0x00/) });
    // Two alone, then the four that waited together, which failed, then each of those again on its own.
    expect(sizes).toEqual([1, 1, 4, 1, 1, 1, 1]);
    const after = await state(ids);
    expect(after.map((r) => [r.status, r.attempts, (r.attempts_log as unknown[]).length])).toEqual([
      ['succeeded', 1, 1],
      ['succeeded', 1, 1],
      ['succeeded', 1, 1],
      ['pending', 0, 0],
      ['succeeded', 1, 1],
      ['succeeded', 1, 1],
    ]);
  });
});

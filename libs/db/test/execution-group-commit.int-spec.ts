import { randomUUID } from 'node:crypto';
import { uuidv7 } from '@kiln/core';
import { createTestDatabase, type TestDatabase } from '@kiln/testing';
import { Database, ExecutionRepository, type NewExecution } from '../src';

// The hot-path statements batched by group commit: many executions in one
// statement must each get exactly their own change and their own outbox rows.
describe('execution group commit (real PostgreSQL)', () => {
  let testDb: TestDatabase;
  let db: Database;
  let repo: ExecutionRepository;
  const tenantId = randomUUID();

  beforeAll(async () => {
    testDb = await createTestDatabase();
    db = new Database({ url: testDb.url, poolSize: 4 });
    repo = new ExecutionRepository(db);
    await db.pool.query(`INSERT INTO tenants (id, name, slug, webhook_secret_enc, updated_at) VALUES ($1, 't', $2, 'x', now())`, [tenantId, `t-${tenantId.slice(0, 8)}`]);
    await db.pool.query(
      `INSERT INTO webhook_subscriptions (id, tenant_id, url, events, secret_enc, updated_at)
       VALUES ($1, $2, 'http://127.0.0.1:9/hook', ARRAY['execution.started','execution.completed','execution.failed'], 'x', now())`,
      [randomUUID(), tenantId],
    );
  });

  afterAll(async () => {
    await db.close();
    await testDb.drop();
  });

  const execution = (input: unknown): NewExecution => ({
    id: uuidv7(),
    tenantId,
    scriptId: null,
    scriptVersion: null,
    apiKeyId: null,
    trigger: { type: 'api' },
    input,
    metadata: null,
    webhookUrl: null,
    adhocSource: 'results.x = 1;',
    timeoutMs: 1000,
    memoryMb: 16,
  });

  it('inserts, claims and finishes concurrent executions, each with its own values and webhook rows', async () => {
    const batch = Array.from({ length: 12 }, (_, i) => execution({ i }));
    const created = await Promise.all(batch.map((e) => repo.create(e)));
    expect(created.every((c) => c.created)).toBe(true);

    const claimed = await Promise.all(batch.map((e) => repo.claim(e.id, 'w1')));
    expect(claimed.map((c) => c?.input)).toEqual(batch.map((e) => e.input));
    expect(claimed.every((c) => c?.attempts === 1 && c.webhookDeliveryIds.length === 1)).toBe(true);
    const startedIds = new Set(claimed.flatMap((c) => c?.webhookDeliveryIds ?? []));
    expect(startedIds.size).toBe(12);

    const finished = await Promise.all(
      batch.map((e, i) =>
        repo.finish(e.id, {
          status: i % 2 === 0 ? 'completed' : 'failed',
          output: i % 2 === 0 ? { i } : null,
          error: i % 2 === 0 ? null : { code: 'EXECUTION_ERROR', message: `boom ${i}` },
          logs: [{ level: 'log', message: `line ${i}`, time: new Date().toISOString() }],
          logsTruncated: false,
          durationMs: i,
        }),
      ),
    );
    expect(finished.map((f) => f?.status)).toEqual(batch.map((_, i) => (i % 2 === 0 ? 'completed' : 'failed')));
    const { rows } = await db.pool.query<{ id: string; output: unknown; error: { message: string } | null; logs: { message: string }[]; duration_ms: number }>(
      'SELECT id::text, output, error, logs, duration_ms FROM executions WHERE tenant_id = $1',
      [tenantId],
    );
    for (const [i, e] of batch.entries()) {
      const row = rows.find((r) => r.id === e.id);
      expect(row?.duration_ms).toBe(i);
      expect(row?.logs[0]?.message).toBe(`line ${i}`);
      if (i % 2 === 0) expect(row?.output).toEqual({ i });
      else expect(row?.error?.message).toBe(`boom ${i}`);
    }
    const deliveries = await db.pool.query<{ execution_id: string; event: string }>(
      'SELECT execution_id::text, event FROM webhook_deliveries WHERE tenant_id = $1',
      [tenantId],
    );
    expect(deliveries.rowCount).toBe(24);
    for (const [i, e] of batch.entries()) {
      const events = deliveries.rows.filter((d) => d.execution_id === e.id).map((d) => d.event).sort();
      expect(events).toEqual(['execution.started', i % 2 === 0 ? 'execution.completed' : 'execution.failed'].sort());
    }

    // A second finish of the same executions changes nothing: the first outcome stands.
    const again = await repo.finish(batch[0]!.id, { status: 'failed', error: { code: 'TIMEOUT', message: 'late' }, logs: [], logsTruncated: false, durationMs: 1 });
    expect(again).toBeNull();
  });

  it('fails only the run whose finish PostgreSQL refuses, not the others that shared its statement', async () => {
    const batch = Array.from({ length: 6 }, (_, i) => execution({ bad: i }));
    await Promise.all(batch.map((e) => repo.create(e)));
    await Promise.all(batch.map((e) => repo.claim(e.id, 'w1')));
    // The first finish goes out alone; the next five wait for it and share one statement, which fails on 2^40 in an int column.
    const results = await Promise.allSettled(
      batch.map((e, i) => repo.finish(e.id, { status: 'completed', output: { i }, error: null, logs: [], logsTruncated: false, durationMs: i === 3 ? 2 ** 40 : i })),
    );
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(String((results[3] as PromiseRejectedResult).reason)).toMatch(/out of range/);
    const { rows } = await db.pool.query<{ id: string; status: string }>('SELECT id::text, status FROM executions WHERE id = ANY($1::uuid[])', [batch.map((e) => e.id)]);
    expect(batch.map((e) => rows.find((r) => r.id === e.id)?.status)).toEqual(['completed', 'completed', 'completed', 'running', 'completed', 'completed']);
  });

  it('skips executions that cannot be claimed without failing the others in the same statement', async () => {
    const a = execution({ a: 1 });
    const b = execution({ b: 1 });
    await repo.create(a);
    await repo.create(b);
    await db.pool.query(`UPDATE executions SET status = 'cancelled' WHERE id = $1`, [b.id]);
    const claimed = await repo.claimMany([a.id, b.id, randomUUID()], 'w2');
    expect([...claimed.keys()]).toEqual([a.id]);
  });

  it('takes over a running execution only when asked to (a job back after a failure or a stall)', async () => {
    const running = execution({ r: 1 });
    const fresh = execution({ f: 1 });
    await repo.create(running);
    await repo.create(fresh);
    expect(await repo.claim(running.id, 'w1', { reclaimRunning: false })).not.toBeNull();

    // A second job for the same run on its first start (a duplicate) finds it running and leaves it.
    const [duplicate, first] = await Promise.all([
      repo.claim(running.id, 'w2', { reclaimRunning: false }),
      repo.claim(fresh.id, 'w2', { reclaimRunning: false }),
    ]);
    expect(duplicate).toBeNull();
    expect(first?.attempts).toBe(1);

    // The same job retried after its worker died takes it over as attempt 2.
    const retaken = await repo.claim(running.id, 'w2', { reclaimRunning: true });
    expect(retaken?.attempts).toBe(2);
    const { rows } = await db.pool.query<{ worker_id: string }>('SELECT worker_id FROM executions WHERE id = $1', [running.id]);
    expect(rows[0]?.worker_id).toBe('w2');
  });

  it('claims over connections that do not wait for the WAL flush, and nothing else does', async () => {
    const setting = async (pool: typeof db.pool) => (await pool.query<{ synchronous_commit: string }>('SHOW synchronous_commit')).rows[0]?.synchronous_commit;
    expect(await setting(db.relaxedPool)).toBe('off');
    expect(await setting(db.pool)).toBe('on');
    const row = execution({ n: 1 });
    await repo.insertMany([row]);
    const claimed = await repo.claim(row.id, 'w-relaxed');
    expect(claimed?.id).toBe(row.id);
    // Visible at once to the other pool, as any committed change.
    const { rows } = await db.pool.query<{ status: string; worker_id: string }>('SELECT status, worker_id FROM executions WHERE id = $1', [row.id]);
    expect(rows[0]).toEqual({ status: 'running', worker_id: 'w-relaxed' });
  });

  it('confirms a status with a durable write of the row, and answers null for a row that is not there', async () => {
    const row = execution({ n: 2 });
    const created = await repo.create(row, undefined, { durable: false });
    expect(created.created).toBe(true);
    const version = async () => (await db.pool.query<{ xmin: string }>('SELECT xmin::text FROM executions WHERE id = $1', [row.id])).rows[0]?.xmin;
    const before = await version();
    expect(await repo.confirmStatus(tenantId, row.id)).toBe('pending');
    // A new row version, written by a durable commit: that is what flushes the WAL behind it.
    expect(await version()).not.toBe(before);
    expect(await repo.confirmStatus(randomUUID(), row.id)).toBeNull();
    expect(await repo.confirmStatus(tenantId, uuidv7())).toBeNull();
  });

  it('does not read a script version the worker holds, yet still tells a version that is gone', async () => {
    const scriptId = randomUUID();
    await db.pool.query(`INSERT INTO scripts (id, tenant_id, name, current_version, updated_at) VALUES ($1, $2, $3, 2, now())`, [scriptId, tenantId, `s-${scriptId}`]);
    await db.pool.query(
      `INSERT INTO script_versions (id, script_id, tenant_id, version, source) VALUES ($1, $3, $4, 1, 'stored one'), ($2, $3, $4, 2, 'stored two')`,
      [randomUUID(), randomUUID(), scriptId, tenantId],
    );
    const ofVersion = (version: number): NewExecution => ({ ...execution(null), scriptId, scriptVersion: version, adhocSource: null });
    const [held, otherVersion, unheld, gone] = [ofVersion(2), ofVersion(1), ofVersion(2), ofVersion(3)];
    await repo.insertMany([held, otherVersion, unheld, gone]);
    // The held text differs from the stored one only so that the test can tell which of the two came back.
    const knownSource = { scriptId, version: 2, source: 'held two' };
    const claimed = await Promise.all([
      repo.claim(held.id, 'w-src', { reclaimRunning: false, knownSource }),
      repo.claim(otherVersion.id, 'w-src', { reclaimRunning: false, knownSource }),
      repo.claim(unheld.id, 'w-src', { reclaimRunning: false }),
      repo.claim(gone.id, 'w-src', { reclaimRunning: false, knownSource: { ...knownSource, version: 3 } }),
    ]);
    expect(claimed.map((c) => c?.source)).toEqual(['held two', 'stored one', 'stored two', null]);
  });
});

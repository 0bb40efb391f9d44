import { createTestDatabase, hasLocalPostgresSocket, viaLocalPostgresSocket, type TestDatabase } from '@kiln/testing';
import { Database } from '../src';

// On one machine npm run up and the benchmark reach PostgreSQL through its
// Unix socket (tools/lib/services.mjs, defaultPostgresUrl). Both of Kiln's
// pools must work there: the durable one and the relaxed one, whose setting
// travels as a startup option.
(hasLocalPostgresSocket() ? describe : describe.skip)('Database over the local Unix socket', () => {
  let testDb: TestDatabase;
  let db: Database;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    db = new Database({ url: viaLocalPostgresSocket(testDb.url), poolSize: 2 });
  });

  afterAll(async () => {
    await db.close();
    await testDb.drop();
  });

  it('connects both pools through the socket, with their own commit settings', async () => {
    const durable = await db.pool.query<{ addr: string | null; sync: string; db: string }>(
      `SELECT inet_server_addr()::text AS addr, current_setting('synchronous_commit') AS sync, current_database() AS db`,
    );
    expect(durable.rows[0]).toEqual({ addr: null, sync: 'on', db: testDb.name });
    const relaxed = await db.relaxedPool.query<{ addr: string | null; sync: string }>(
      `SELECT inet_server_addr()::text AS addr, current_setting('synchronous_commit') AS sync`,
    );
    expect(relaxed.rows[0]).toEqual({ addr: null, sync: 'off' });
  });

  it('serves Prisma through the same pool', async () => {
    await expect(db.prisma.tenant.count()).resolves.toBe(0);
  });
});

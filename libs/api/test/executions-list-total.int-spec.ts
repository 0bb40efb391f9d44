import { randomBytes, randomUUID } from 'node:crypto';
import { LIST_TOTAL_CAP } from '../src/http/page-query';
import { listPage, seedDatabase, startApiTestApp } from './api-test-app';

// GET /v1/executions counts matches exactly up to LIST_TOTAL_CAP and no
// further, so a page of a busy script costs the same as one of a new script.
describe('GET /v1/executions total (real PostgreSQL, HTTP on loopback)', () => {
  const adminKey = `ak_${randomBytes(32).toString('hex')}`;
  const busyScript = randomUUID();
  const quietScript = randomUUID();
  let close: () => Promise<void>;
  let url: string;

  beforeAll(async () => {
    let databaseUrl: string;
    ({ databaseUrl, close, url } = await startApiTestApp({ env: { KILN_ADMIN_KEY: adminKey } }));
    await seedDatabase(databaseUrl, async (db, tenantId) => {
      const otherTenant = randomUUID();
      await db.query(`INSERT INTO tenants (id, name, slug, webhook_secret_enc, updated_at) VALUES ($1, 'other', $2, 'x', now())`, [otherTenant, `other-${otherTenant.slice(0, 8)}`]);
      const seed = (tenant: string, script: string, count: number) =>
        db.query(
          `INSERT INTO executions (id, tenant_id, script_id, script_version, status, trigger, timeout_ms, memory_mb, created_at)
           SELECT gen_random_uuid(), $1::uuid, $2::uuid, 1, 'completed', '{"type":"api"}', 1000, 64, now() - g * interval '1 ms'
             FROM generate_series(1, $3::int) g`,
          [tenant, script, count],
        );
      await seed(tenantId, busyScript, LIST_TOTAL_CAP + 1);
      await seed(tenantId, quietScript, 3);
      // Another tenant's runs of the same script id are never counted.
      await seed(otherTenant, quietScript, 50);
    });
  }, 60_000);

  afterAll(async () => {
    await close?.();
  });

  const list = (query: string) => listPage(url, adminKey, `/v1/executions?${query}`);

  it('counts exactly below the cap', async () => {
    const page = await list(`scriptId=${quietScript}&limit=2`);
    expect(page).toMatchObject({ total: 3, totalExact: true, limit: 2, offset: 0 });
    expect(page.items).toHaveLength(2);
  });

  it('stops counting at the cap and says so', async () => {
    const page = await list(`scriptId=${busyScript}&limit=5&offset=20`);
    expect(page).toMatchObject({ total: LIST_TOTAL_CAP, totalExact: false, limit: 5, offset: 20 });
    expect(page.items).toHaveLength(5);
  });

  it('is exact again when a filter narrows the matches below the cap', async () => {
    const page = await list(`scriptId=${busyScript}&status=failed`);
    expect(page).toMatchObject({ total: 0, totalExact: true, items: [] });
  });
});

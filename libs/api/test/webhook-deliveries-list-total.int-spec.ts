import { randomBytes, randomUUID } from 'node:crypto';
import { LIST_TOTAL_CAP } from '../src/http/page-query';
import { listPage, seedDatabase, startApiTestApp } from './api-test-app';

// The delivery lists count matches exactly up to LIST_TOTAL_CAP and no
// further, like GET /v1/executions: deliveries grow with every run.
describe('webhook delivery lists: bounded total (real PostgreSQL, HTTP on loopback)', () => {
  const adminKey = `ak_${randomBytes(32).toString('hex')}`;
  const busy = randomUUID();
  const quiet = randomUUID();
  let close: () => Promise<void>;
  let url: string;

  beforeAll(async () => {
    let databaseUrl: string;
    ({ close, url, databaseUrl } = await startApiTestApp({ env: { KILN_ADMIN_KEY: adminKey } }));
    await seedDatabase(databaseUrl, async (db, tenantId) => {
      for (const id of [busy, quiet]) {
        await db.query(`INSERT INTO webhook_subscriptions (id, tenant_id, url, events, secret_enc, updated_at) VALUES ($1, $2, 'https://example.com/h', ARRAY['execution.completed'], 'x', now())`, [id, tenantId]);
      }
      const seed = (subscription: string | null, count: number, status: string) =>
        db.query(
          `INSERT INTO webhook_deliveries (id, tenant_id, subscription_id, source, execution_id, event, url, message_id, payload, status, created_at)
           SELECT gen_random_uuid(), $1::uuid, $2::uuid, CASE WHEN $2::uuid IS NULL THEN 'run' ELSE 'subscription' END, gen_random_uuid(),
                  'execution.completed', 'https://example.com/h', 'msg_' || g, '{}', $4::"DeliveryStatus", now() - g * interval '1 ms'
             FROM generate_series(1, $3::int) g`,
          [tenantId, subscription, count, status],
        );
      await seed(busy, LIST_TOTAL_CAP + 1, 'succeeded');
      await seed(quiet, 2, 'failed');
      await seed(null, 3, 'failed');
    });
  }, 60_000);

  afterAll(async () => {
    await close?.();
  });

  const list = (path: string) => listPage(url, adminKey, path);

  it('stops counting a busy subscription at the cap and says so', async () => {
    expect(await list(`/v1/webhooks/${busy}/deliveries?limit=3&offset=10`)).toMatchObject({ total: LIST_TOTAL_CAP, totalExact: false, limit: 3, offset: 10 });
    expect(await list(`/v1/webhook-deliveries?limit=2`)).toMatchObject({ total: LIST_TOTAL_CAP, totalExact: false });
  });

  it('counts exactly below the cap, filters included', async () => {
    const quietPage = await list(`/v1/webhooks/${quiet}/deliveries`);
    expect(quietPage).toMatchObject({ total: 2, totalExact: true });
    expect(quietPage.items).toHaveLength(2);
    expect(await list('/v1/webhook-deliveries?status=failed')).toMatchObject({ total: 5, totalExact: true });
    expect(await list('/v1/webhook-deliveries?source=run')).toMatchObject({ total: 3, totalExact: true });
  });
});

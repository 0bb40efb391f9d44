import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { ApiClient, eventually, KilnStack } from '@kiln/testing';

describe('tenancy, API keys and HTTP hygiene', () => {
  let stack: KilnStack;
  let admin: ApiClient;

  beforeAll(async () => {
    stack = await KilnStack.start({ apps: ['gateway', 'worker'] });
    admin = stack.admin();
  });
  afterAll(() => stack?.stop());

  it('bootstraps KILN_ADMIN_KEY as a hashed admin key on tenant default', async () => {
    const keys = await admin.get('/v1/api-keys');
    const bootstrap = keys.body.items.find((k: { prefix: string }) => k.prefix === stack.adminKey.slice(0, 8));
    expect(bootstrap).toMatchObject({ scopes: ['admin'], active: true });
    expect(JSON.stringify(keys.body)).not.toContain(stack.adminKey);
    const db = new Client({ connectionString: stack.database.url });
    await db.connect();
    try {
      const rows = await db.query('SELECT key_hash, prefix FROM api_keys');
      expect(rows.rows.some((r) => r.key_hash === stack.adminKey)).toBe(false);
      expect(rows.rows.every((r) => /^[0-9a-f]{64}$/.test(r.key_hash))).toBe(true);
      const tenants = await db.query("SELECT slug FROM tenants WHERE slug = 'default'");
      expect(tenants.rowCount).toBe(1);
    } finally {
      await db.end();
    }
  });

  it('creates keys shown once, with default scopes, accepted as Bearer or ?apiKey=', async () => {
    const { id } = await stack.tenant();
    const created = await admin.post('/v1/api-keys', { name: 'ci', tenantId: id });
    expect(created.status).toBe(201);
    expect(created.body.key).toMatch(/^ak_[0-9a-f]{64}$/);
    expect(created.body.scopes).toEqual(['scripts.read', 'scripts.write', 'executions.run', 'executions.read', 'webhooks.manage', 'keys.manage']);
    const viaQuery = await new ApiClient(stack.url).get(`/v1/scripts?apiKey=${created.body.key}`, { key: null });
    expect(viaQuery.status).toBe(200);
    const listed = await admin.get(`/v1/api-keys?tenantId=${id}`);
    expect(JSON.stringify(listed.body)).not.toContain(created.body.key);
  });

  it('answers 401 for missing, unknown and revoked keys; 403 for inactive, expired and missing scope', async () => {
    const { client, key } = await stack.tenant();
    const anon = new ApiClient(stack.url);
    expect((await anon.get('/v1/scripts')).status).toBe(401);
    expect((await anon.get('/v1/scripts', { key: `ak_${randomBytes(32).toString('hex')}` })).status).toBe(401);

    const readOnly = await client.post('/v1/api-keys', { name: 'ro', scopes: ['scripts.read'] });
    const ro = client.withKey(readOnly.body.key);
    const denied = await ro.post('/v1/scripts', { name: 'nope', source: '1' });
    expect(denied.status).toBe(403);
    expect(denied.body.error.message).toContain('scripts.write');
    const escalate = await client.withKey(readOnly.body.key).post('/v1/api-keys', { scopes: ['admin'] });
    expect(escalate.status).toBe(403);
    const adminGrant = await client.post('/v1/api-keys', { scopes: ['admin'] });
    expect(adminGrant.status).toBe(403);

    const inactive = await client.post('/v1/api-keys', { name: 'off', active: false });
    const off = await client.withKey(inactive.body.key).get('/v1/scripts');
    expect(off.status).toBe(403);
    expect(off.body.error.message).toMatch(/inactive/);

    const expired = await client.post('/v1/api-keys', { name: 'old', expiresAt: new Date(Date.now() - 1000).toISOString() });
    const old = await client.withKey(expired.body.key).get('/v1/scripts');
    expect(old.status).toBe(403);
    expect(old.body.error.message).toMatch(/expired/);

    const doomed = await client.post('/v1/api-keys', { name: 'doomed' });
    expect((await client.withKey(doomed.body.key).get('/v1/scripts')).status).toBe(200);
    expect((await client.delete(`/v1/api-keys/${doomed.body.id}`)).status).toBe(204);
    expect((await client.withKey(doomed.body.key).get('/v1/scripts')).status).toBe(401);

    const patched = await client.patch(`/v1/api-keys/${readOnly.body.id}`, { active: false });
    expect(patched.body.active).toBe(false);
    expect((await ro.get('/v1/scripts')).status).toBe(403);
    expect(key).toMatch(/^ak_/);
  });

  it("answers 404 for another tenant's resources on every route", async () => {
    const a = await stack.tenant();
    const b = await stack.tenant();
    const script = await a.client.post('/v1/scripts', { name: 'private-script', source: 'module.exports = () => 1;' });
    const run = await a.client.post(`/v1/scripts/${script.body.id}/runs`, { wait: true });
    const keyOfA = await a.client.post('/v1/api-keys', { name: 'a2' });
    const execId = run.body.id;
    const sid = script.body.id;
    const probes: [string, string, unknown?][] = [
      ['GET', `/v1/scripts/${sid}`],
      ['GET', '/v1/scripts/private-script'],
      ['PATCH', `/v1/scripts/${sid}`, { description: 'x' }],
      ['PUT', `/v1/scripts/${sid}`, { name: 'hijack', source: '1' }],
      ['DELETE', `/v1/scripts/${sid}`],
      ['GET', `/v1/scripts/${sid}/versions`],
      ['POST', `/v1/scripts/${sid}/runs`, {}],
      ['GET', `/v1/executions/${execId}`],
      ['POST', `/v1/executions/${execId}/cancel`],
      ['POST', `/v1/executions/${execId}/retry`, {}],
      ['POST', `/v1/executions/${execId}/approve`, {}],
      ['POST', `/v1/executions/${execId}/reject`, {}],
      ['GET', `/v1/api-keys/${keyOfA.body.id}`],
      ['PATCH', `/v1/api-keys/${keyOfA.body.id}`, { name: 'x' }],
      ['DELETE', `/v1/api-keys/${keyOfA.body.id}`],
      ['POST', '/v1/api-keys', { tenantId: a.id }],
    ];
    for (const [method, path, body] of probes) {
      const res = await b.client.request(method, path, { body });
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 404 });
      expect(res.body.error.code).toBe('NOT_FOUND');
    }
    const lists = await b.client.get(`/v1/executions?scriptId=${sid}`);
    expect(lists.body.total).toBe(0);
    expect((await b.client.get('/v1/scripts')).body.total).toBe(0);
    // And A still sees all of it, untouched.
    expect((await a.client.get(`/v1/scripts/${sid}`)).body.description).toBeNull();
    expect((await a.client.withKey(keyOfA.body.key).get('/v1/scripts')).status).toBe(200);
  });

  it('only admins manage tenants', async () => {
    const { client } = await stack.tenant();
    expect((await client.get('/v1/tenants')).status).toBe(403);
    expect((await client.post('/v1/tenants', { name: 'x', slug: 'xyz' })).status).toBe(403);
    const dup = await admin.post('/v1/tenants', { name: 'again', slug: 'default' });
    expect(dup.status).toBe(409);
    const bad = await admin.post('/v1/tenants', { name: 'x', slug: 'Not A Slug' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.fields[0].field).toBe('slug');
  });

  it('answers 400 for malformed JSON and 413 for a 3 MiB body, never 500', async () => {
    const { client } = await stack.tenant();
    const malformed = await client.request('POST', '/v1/scripts', { rawBody: '{"name": "x", ', headers: { 'content-type': 'application/json' } });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('INVALID_JSON');
    // Refused by its announced size; sending the 3 MiB as well races the gateway closing the connection.
    const huge = await client.requestAnnouncingBody('POST', '/v1/scripts', 3 * 1024 * 1024, { 'content-type': 'application/json' });
    expect(huge.status).toBe(413);
    expect(huge.body.error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', statusCode: 413 });
    expect(huge.body.error.message).toContain('KILN_BODY_LIMIT_BYTES');
    const notObject = await client.request('POST', '/v1/scripts', { rawBody: '[1,2]', headers: { 'content-type': 'application/json' } });
    expect(notObject.status).toBe(400);
    const xml = await client.request('POST', '/v1/scripts', { rawBody: '<a/>', headers: { 'content-type': 'application/xml' } });
    expect(xml.status).toBe(415);
    const badId = await client.get('/v1/executions/not-a-uuid');
    expect(badId.status).toBe(404);
  });

  it('refuses duplicate names (409), oversized source (413) and bad fields with per-field details', async () => {
    const { client } = await stack.tenant();
    expect((await client.post('/v1/scripts', { name: 'dup', source: '1' })).status).toBe(201);
    const dup = await client.post('/v1/scripts', { name: 'dup', source: '2' });
    expect(dup.status).toBe(409);
    expect(dup.body.error).toMatchObject({ code: 'SCRIPT_NAME_TAKEN', details: { field: 'name' } });
    const big = await client.post('/v1/scripts', { name: 'bigsrc', source: `// ${'x'.repeat(300 * 1024)}` });
    expect(big.status).toBe(413);
    expect(big.body.error.message).toContain('KILN_SCRIPT_SOURCE_MAX_BYTES');
    const bad = await client.post('/v1/scripts', { name: 'ok-name', source: '1', timeoutMs: 50, memoryMb: 1024, status: 'sleepy' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.fields.map((f: { field: string }) => f.field).sort()).toEqual(['memoryMb', 'status', 'timeoutMs']);
    const cron = await client.post('/v1/scripts', { name: 'cronbad', source: '1', triggers: { cron: 'every day' } });
    expect(cron.status).toBe(400);
    expect(cron.body.error.details.fields[0].field).toBe('triggers.cron');
    const schema = await client.post('/v1/scripts', { name: 'schemabad', source: '1', inputSchema: { type: 'nonsense' } });
    expect(schema.status).toBe(400);
  });

  it('stores env encrypted and never returns it in clear', async () => {
    const { client } = await stack.tenant();
    const secret = `s3cret-${randomBytes(6).toString('hex')}`;
    const created = await client.post('/v1/scripts', { name: 'with-env', source: 'module.exports = ({ context }) => context.env.TOKEN.length;', env: { TOKEN: secret } });
    expect(created.body.env).toEqual({ TOKEN: '********' });
    expect(JSON.stringify((await client.get(`/v1/scripts/${created.body.id}`)).body)).not.toContain(secret);
    const db = new Client({ connectionString: stack.database.url });
    await db.connect();
    try {
      const row = await db.query('SELECT env_enc FROM scripts WHERE id = $1', [created.body.id]);
      expect(row.rows[0].env_enc).not.toContain(secret);
    } finally {
      await db.end();
    }
    const run = await client.post(`/v1/scripts/${created.body.id}/runs`, { wait: true });
    expect(run.body.output).toBe(secret.length);
  });

  it('serves health, readiness, metrics and the OpenAPI document', async () => {
    const anon = new ApiClient(stack.url);
    expect((await anon.get('/health/live')).body).toEqual({ status: 'ok' });
    const ready = await anon.get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toMatchObject({ postgres: { status: 'ok' }, redis: { status: 'ok' } });
    const metrics = await anon.get('/metrics');
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    expect(metrics.text).toContain('kiln_http_request_duration_seconds_bucket');
    const doc = await anon.get('/docs/openapi.json');
    expect(doc.body.openapi).toBe('3.1.0');
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/v1/scripts/{id}/runs', '/v1/executions/{id}/cancel']));
    const ui = await anon.get('/docs');
    expect(ui.text).toContain('swagger-ui');
    expect((await anon.get('/docs/assets/swagger-ui-bundle.js')).status).toBe(200);
    const worker = stack.app('worker');
    const workerReady = await eventually(async () => {
      const res = await fetch(`http://127.0.0.1:${worker.healthPort}/health/ready`);
      return res.status === 200 ? res : undefined;
    });
    expect(workerReady.status).toBe(200);
    const workerMetrics = await (await fetch(`http://127.0.0.1:${worker.healthPort}/metrics`)).text();
    expect(workerMetrics).toContain('kiln_process_cpu_user_seconds_total');
  });
});

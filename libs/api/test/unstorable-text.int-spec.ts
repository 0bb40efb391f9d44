import { randomBytes } from 'node:crypto';
import { startApiTestApp } from './api-test-app';

// PostgreSQL cannot store U+0000 in text or JSON. Where a request carries
// one in a field that is stored as given (a description, an input schema),
// the caller gets 400, never a 500, and nothing is written.
describe('text PostgreSQL cannot store (real PostgreSQL, HTTP on loopback)', () => {
  const adminKey = `ak_${randomBytes(32).toString('hex')}`;
  let close: () => Promise<void>;
  let url: string;

  beforeAll(async () => {
    ({ close, url } = await startApiTestApp({ env: { KILN_ADMIN_KEY: adminKey } }));
  }, 60_000);
  afterAll(async () => close?.());

  const request = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  it.each([
    ['a description (text)', { description: 'a\u0000b' }],
    ['an input schema (JSON)', { inputSchema: { type: 'object', description: 'x\u0000' } }],
  ])('answers 400 for a NUL in %s and stores nothing', async (_what, fields) => {
    const name = `nul-${randomBytes(4).toString('hex')}`;
    const res = await request('POST', '/v1/scripts', { name, source: 'results.x = 1;', ...fields });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'VALIDATION_ERROR', message: expect.stringContaining('U+0000') });
    expect((await request('GET', `/v1/scripts/${name}`)).status).toBe(404);
  });
});

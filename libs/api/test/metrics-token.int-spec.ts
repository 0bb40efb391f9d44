import { randomBytes } from 'node:crypto';
import { loadConfig } from '@kiln/config';
import { startApiTestApp } from './api-test-app';

// KILN_METRICS_TOKEN: the gateway's /metrics shares the public API port, so
// an operator can require a bearer token for it (health probes stay open).
describe('gateway /metrics with KILN_METRICS_TOKEN (real HTTP on loopback)', () => {
  const token = randomBytes(24).toString('hex');
  let close: () => Promise<void>;
  let url: string;

  beforeAll(async () => {
    ({ close, url } = await startApiTestApp({ env: { KILN_METRICS_TOKEN: token } }));
  });

  afterAll(async () => {
    await close?.();
  });

  const metrics = (authorization?: string) => fetch(`${url}/metrics`, { headers: authorization ? { authorization } : {} });

  it('answers 401 with a Bearer challenge without the token, or with a wrong one', async () => {
    for (const authorization of [undefined, `Bearer ${token.slice(0, -1)}x`, `Bearer ${token}${token}`, `Basic ${token}`]) {
      const res = await metrics(authorization);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
      const body = (await res.json()) as { error?: { code?: string } };
      expect(body.error?.code).toBe('UNAUTHORIZED');
      expect(JSON.stringify(body)).not.toContain(token);
    }
  });

  it('serves the Prometheus text with the token', async () => {
    const res = await metrics(`Bearer ${token}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(await res.text()).toMatch(/^# (HELP|TYPE) kiln_/m);
  });

  it('keeps the health probes open', async () => {
    expect((await fetch(`${url}/health/live`)).status).toBe(200);
  });

  it('refuses a token shorter than 16 characters at start-up, naming the variable but never echoing the value', () => {
    const start = () => loadConfig({ KILN_ENCRYPTION_KEY: randomBytes(32).toString('hex'), KILN_METRICS_TOKEN: 'short-secret' });
    expect(start).toThrow(/KILN_METRICS_TOKEN/);
    expect(start).not.toThrow(/short-secret/);
  });
});

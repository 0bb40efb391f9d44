import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { documentedOperations } from '../src';
import { createApiTestApp } from './api-test-app';

// The OpenAPI document is written by hand next to the code; this keeps the
// two in step: every route the gateway registers is documented, and every
// documented route exists.
describe('OpenAPI document', () => {
  let app: NestFastifyApplication;
  let close: () => Promise<void>;
  const routes = new Set<string>();

  beforeAll(async () => {
    const adapter = new FastifyAdapter();
    adapter.getInstance().addHook('onRoute', (route) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      for (const method of methods) if (method !== 'HEAD' && method !== 'OPTIONS') routes.add(`${method.toLowerCase()} ${route.url}`);
    });
    ({ app, close } = await createApiTestApp({ adapter }));
    await app.init();
  });

  afterAll(async () => {
    await close?.();
  });

  it('documents exactly the routes the gateway registers', () => {
    const documented = new Set(documentedOperations().map((op) => `${op.method} ${op.path}`));
    // The docs UI's static assets are files, not API operations; nor are the
    // web console's HTML pages and fragments (/scripts…, /console…; the JSON
    // API is /v1/scripts) and its assets (docs/console.md lists them).
    const registered = [...routes].filter((r) => !r.startsWith('get /docs/assets/') && !/^[a-z]+ \/(scripts|console)(\/|$)/.test(r));
    expect(registered.filter((r) => !documented.has(r))).toEqual([]);
    expect([...documented].filter((r) => !routes.has(r))).toEqual([]);
  });
});

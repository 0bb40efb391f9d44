import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfig } from '@kiln/config';
import { createLogger } from '@kiln/observability';
import { PlatformModule } from '@kiln/platform';
import { createTestDatabase, createTestRedisPrefix, type TestDatabase } from '@kiln/testing';
import { ApiModule, documentedOperations } from '../src';

// The OpenAPI document is written by hand next to the code; this keeps the
// two in step: every route the gateway registers is documented, and every
// documented route exists.
describe('OpenAPI document', () => {
  let app: NestFastifyApplication;
  let database: TestDatabase;
  let redis: ReturnType<typeof createTestRedisPrefix>;
  const routes = new Set<string>();

  beforeAll(async () => {
    database = await createTestDatabase();
    redis = createTestRedisPrefix();
    const config = loadConfig({
      DATABASE_URL: database.url,
      REDIS_URL: redis.url,
      KILN_REDIS_PREFIX: redis.prefix,
      KILN_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    });
    const logger = createLogger({ name: 'test', level: 'silent' });
    @Module({ imports: [PlatformModule.forRoot({ config, appName: 'test', logger }), ApiModule] })
    class TestModule {}
    const adapter = new FastifyAdapter();
    adapter.getInstance().addHook('onRoute', (route) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      for (const method of methods) if (method !== 'HEAD' && method !== 'OPTIONS') routes.add(`${method.toLowerCase()} ${route.url}`);
    });
    app = await NestFactory.create<NestFastifyApplication>(TestModule, adapter, { logger: false });
    await app.init();
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
    await redis?.cleanup();
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

import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfig } from '@kiln/config';
import { createLogger } from '@kiln/observability';
import { PlatformModule } from '@kiln/platform';
import { createTestDatabase, createTestRedisPrefix } from '@kiln/testing';
import { Client } from 'pg';
import { ApiModule, listeningUrl } from '../src';

/**
 * The gateway's Nest application in this process, on its own test database
 * (`databaseUrl`, for tests that seed rows) and Redis prefix (`redisUrl`, `redisPrefix`); not yet
 * initialised or listening. `close()` also drops the database and the Redis keys.
 */
export async function createApiTestApp(
  options: { env?: Record<string, string>; adapter?: FastifyAdapter } = {},
): Promise<{ app: NestFastifyApplication; databaseUrl: string; redisUrl: string; redisPrefix: string; close(): Promise<void> }> {
  const database = await createTestDatabase();
  const redis = createTestRedisPrefix();
  const config = loadConfig({
    DATABASE_URL: database.url,
    REDIS_URL: redis.url,
    KILN_REDIS_PREFIX: redis.prefix,
    KILN_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    ...options.env,
  });
  const logger = createLogger({ name: 'test', level: 'silent' });
  @Module({ imports: [PlatformModule.forRoot({ config, appName: 'test', logger }), ApiModule] })
  class TestModule {}
  const app = await NestFactory.create<NestFastifyApplication>(TestModule, options.adapter ?? new FastifyAdapter(), { logger: false });
  return {
    app,
    databaseUrl: database.url,
    redisUrl: redis.url,
    redisPrefix: redis.prefix,
    close: async () => {
      await app.close();
      await database.drop();
      await redis.cleanup();
    },
  };
}

/** createApiTestApp(), listening on an ephemeral loopback port at `url`. */
export async function startApiTestApp(
  options: { env?: Record<string, string> } = {},
): Promise<Awaited<ReturnType<typeof createApiTestApp>> & { url: string }> {
  const created = await createApiTestApp(options);
  await created.app.listen(0, '127.0.0.1');
  return { ...created, url: listeningUrl(created.app) };
}

/** Seeds rows straight into the test database: `fn` gets a connection and the id of the tenant the admin key created. */
export async function seedDatabase(databaseUrl: string, fn: (db: Client, defaultTenantId: string) => Promise<void>): Promise<void> {
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const { rows } = await db.query<{ id: string }>(`SELECT id::text FROM tenants WHERE slug = 'default'`);
    const tenantId = rows[0]?.id;
    if (!tenantId) throw new Error('the admin key did not create the default tenant (set KILN_ADMIN_KEY)');
    await fn(db, tenantId);
  } finally {
    await db.end();
  }
}

/** GET a list page as the given key; asserts 200. */
export async function listPage<T = unknown>(url: string, key: string, path: string): Promise<{ items: T[]; total: number; totalExact: boolean; limit: number; offset: number }> {
  const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${key}` } });
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as { items: T[]; total: number; totalExact: boolean; limit: number; offset: number };
}

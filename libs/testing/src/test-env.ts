import { randomBytes } from 'node:crypto';

export interface TestEnv {
  runId: string;
  adminDatabaseUrl: string;
  templateDatabase: string;
  redisUrl: string;
  redisPrefix: string;
}

/** Settings that `npm test` (tools/test.mjs) hands to Jest. */
export function testEnv(): TestEnv {
  const e = process.env;
  if (!e.KILN_TEST_TEMPLATE_DB || !e.KILN_TEST_RUN_ID) {
    throw new Error('Integration tests need the database template and Redis prefix that `npm test` prepares: run them with `npm test -- <pattern>`');
  }
  return {
    runId: e.KILN_TEST_RUN_ID,
    adminDatabaseUrl: e.KILN_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
    templateDatabase: e.KILN_TEST_TEMPLATE_DB,
    redisUrl: e.KILN_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    redisPrefix: e.KILN_TEST_REDIS_PREFIX ?? `kiln-test-${e.KILN_TEST_RUN_ID}`,
  };
}

export function uniqueSuffix(): string {
  return randomBytes(4).toString('hex');
}

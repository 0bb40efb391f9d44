// npm test: from a fresh clone, install if needed, build, type-check, lint,
// prepare a test database template and a Redis prefix of this run's own,
// run every test (unit, integration, end-to-end) against the real services,
// and clean up what the run created.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { compile, ensureDependencies, fail, generatePrismaClient, lint, root, run, say, typecheck } from './lib/steps.mjs';

await ensureDependencies();
const { checkPostgres, checkRedis, deleteRedisPrefix, pgQuery, withDatabase } = await import('./lib/services.mjs');
const { prepareTemplate, dropStaleTestDatabases, dropRunDatabases } = await import('./lib/test-databases.mjs');

const adminUrl = process.env.KILN_TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const redisUrl = process.env.KILN_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const runId = `${Math.floor(Date.now() / 1000).toString(36)}${randomBytes(3).toString('hex')}`;
const redisPrefix = `kiln-test-${runId}`;

await generatePrismaClient();
// KILN_TEST_FAST=1 skips type-check and lint while iterating on one test; CI never sets it.
if (process.env.KILN_TEST_FAST !== '1') {
  await typecheck();
  await lint();
}
await compile();

try {
  await checkPostgres(adminUrl);
  await checkRedis(redisUrl);
} catch (err) {
  fail(err.message);
}
await dropStaleTestDatabases(adminUrl, { pgQuery, withDatabase, say });
const template = await prepareTemplate(adminUrl, { pgQuery, withDatabase, say });

say(`running tests (run ${runId}; Redis prefix ${redisPrefix}:*)`);
const jestArgs = process.argv.slice(2);
const code = await run(process.execPath, [path.join(root, 'node_modules', 'jest', 'bin', 'jest.js'), '--maxWorkers=2', ...jestArgs], {
  env: {
    // isolated-vm needs --no-node-snapshot; NestJS 12 ships ESM only, which
    // Jest loads from CommonJS tests through the VM modules API.
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --no-node-snapshot --experimental-vm-modules --disable-warning=ExperimentalWarning`.trim(),
    KILN_TEST_RUN_ID: runId,
    KILN_TEST_DATABASE_URL: adminUrl,
    KILN_TEST_TEMPLATE_DB: template,
    KILN_TEST_REDIS_URL: redisUrl,
    KILN_TEST_REDIS_PREFIX: redisPrefix,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  },
});

await dropRunDatabases(adminUrl, runId, { pgQuery, withDatabase, say }).catch((err) => say(`cleanup: ${err.message}`));
const removed = await deleteRedisPrefix(redisUrl, `${redisPrefix}`).catch(() => 0);
say(`cleaned up ${removed} Redis keys`);
if (code !== 0) fail(`tests failed (exit ${code})`);
say('all tests passed');

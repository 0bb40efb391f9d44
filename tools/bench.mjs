// npm run bench [-- --quick | --full | --smoke] [--out file] [--profile[=scenario]] [--only a,b]
// From a fresh clone: install if needed, build (apps, libs and bench/ into
// dist/), check PostgreSQL and Redis, then run the benchmark harness
// (dist/bench/src/main.js), which starts its own Kiln stack and cleans up.
// See docs/bench.md for what each number means.
import path from 'node:path';
import { compile, ensureDependencies, fail, generatePrismaClient, root, run, say } from './lib/steps.mjs';

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  await run(process.execPath, [path.join(root, 'dist', 'bench', 'src', 'main.js'), '--help']).catch(() => undefined);
  process.exit(0);
}

await ensureDependencies();
const { checkPostgres, checkRedis, defaultPostgresUrl } = await import('./lib/services.mjs');
await generatePrismaClient();
await compile();

// Like npm run up: the local server's Unix socket when it has one (the harness prints which).
const adminUrl = process.env.KILN_BENCH_DATABASE_URL ?? defaultPostgresUrl('postgres');
const redisUrl = process.env.KILN_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
try {
  await checkPostgres(adminUrl);
  await checkRedis(redisUrl);
} catch (err) {
  fail(err.message);
}

// Ctrl-C reaches the harness too (same process group): let it clean up
// (its database, Redis keys and processes) and report its own exit code.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);
say(`running the benchmark harness ${args.join(' ') || '(full mode)'}`);
const code = await run(process.execPath, [path.join(root, 'dist', 'bench', 'src', 'main.js'), ...args], {
  env: { KILN_BENCH_DATABASE_URL: adminUrl, KILN_BENCH_REDIS_URL: redisUrl },
});
process.exit(code);

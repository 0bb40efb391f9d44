// npm run up: from a fresh clone to a running Kiln (gateway + worker +
// notifier in one process). Installs dependencies if missing, finds or
// starts PostgreSQL and Redis, migrates (creating the database), builds,
// starts, and prints the URL and an admin key.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { compile, ensureDependencies, fail, generatePrismaClient, prismaEnv, root, say } from './lib/steps.mjs';

const cache = path.join(root, '.cache');
mkdirSync(cache, { recursive: true });

/** A secret generated once and kept in .cache (git-ignored) so restarts keep working. */
function persistentSecret(file, make) {
  const full = path.join(cache, file);
  if (existsSync(full)) return readFileSync(full, 'utf8').trim();
  const value = make();
  writeFileSync(full, `${value}\n`, { mode: 0o600 });
  chmodSync(full, 0o600);
  return value;
}

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

await ensureDependencies();
const { checkPostgres, checkRedis, defaultPostgresUrl, portAnswers, postgresAddress } = await import('./lib/services.mjs');

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function ensureRedis() {
  if (!process.env.REDIS_URL && !(await portAnswers('127.0.0.1', 6379))) {
    if (has('redis-server')) {
      say('nothing answers on 127.0.0.1:6379; starting the local redis-server');
      const dir = path.join(cache, 'redis');
      mkdirSync(dir, { recursive: true });
      spawnSync('redis-server', ['--daemonize', 'yes', '--bind', '127.0.0.1', '--port', '6379', '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', path.join(dir, 'redis.log')], { stdio: 'inherit' });
      for (let i = 0; i < 50 && !(await portAnswers('127.0.0.1', 6379)); i++) await new Promise((r) => setTimeout(r, 100));
    } else {
      fail('Redis is not running on 127.0.0.1:6379 and no redis-server is installed.\n  Install it (apt install redis-server), or run: docker compose -f docker/compose.yaml up -d redis\n  or point REDIS_URL at a running Redis.');
    }
  }
  await checkRedis(redisUrl).catch((err) => fail(err.message));
}

async function ensurePostgres() {
  if (!process.env.DATABASE_URL && !(await portAnswers('127.0.0.1', 5432))) {
    if (has('pg_ctlcluster') && existsSync('/etc/postgresql')) {
      say('nothing answers on 127.0.0.1:5432; starting the local PostgreSQL cluster');
      spawnSync('sh', ['-c', 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql | head -n1) main start'], { stdio: 'inherit' });
      for (let i = 0; i < 100 && !(await portAnswers('127.0.0.1', 5432)); i++) await new Promise((r) => setTimeout(r, 100));
    } else {
      fail('PostgreSQL is not running on 127.0.0.1:5432 and no local cluster was found.\n  Install it (apt install postgresql), or run: docker compose -f docker/compose.yaml up -d postgres\n  or point DATABASE_URL at a running PostgreSQL (14 or newer).');
    }
  }
}

await ensureRedis();
await ensurePostgres();
// Decided once the server is up: a local cluster started above makes its socket as it starts.
const databaseUrl = process.env.DATABASE_URL ?? defaultPostgresUrl('kiln');
await checkPostgres(databaseUrl).catch((err) => fail(err.message));
if (!process.env.DATABASE_URL) say(`PostgreSQL: ${postgresAddress(databaseUrl)} (set DATABASE_URL to choose)`);
await generatePrismaClient();
const { migrate } = await import('./prisma/migrate.mjs');
try {
  await migrate({ databaseUrl, log: (m) => say(m) });
} catch (err) {
  fail(err.message);
}
await compile();

const encryptionKey = process.env.KILN_ENCRYPTION_KEY ?? persistentSecret('encryption-key', () => randomBytes(32).toString('hex'));
const adminKey = process.env.KILN_ADMIN_KEY ?? persistentSecret('admin-key', () => `ak_${randomBytes(32).toString('hex')}`);
const port = process.env.PORT ?? '3000';

say(`starting Kiln (gateway + worker + notifier) on port ${port}`);
const child = spawn(process.execPath, ['--no-node-snapshot', path.join(root, 'dist', 'apps', 'all-in-one', 'src', 'main.js')], {
  cwd: root,
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, ...prismaEnv(), DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, KILN_ENCRYPTION_KEY: encryptionKey, KILN_ADMIN_KEY: adminKey, PORT: port },
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)));

let announced = false;
child.stdout.setEncoding('utf8');
let buffered = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  if (announced) return;
  buffered += chunk;
  for (const line of buffered.split('\n')) {
    let parsed;
    try {
      parsed = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof parsed.url === 'string') {
      announced = true;
      const url = parsed.url.replace('0.0.0.0', '127.0.0.1');
      process.stdout.write(
        [
          '',
          `  Kiln is running at ${url}`,
          `  API docs:     ${url}/docs`,
          `  Admin key:    ${adminKey}`,
          `                (kept in .cache/admin-key; set KILN_ADMIN_KEY to choose your own)`,
          '',
          '  Try it:',
          `    curl -s -X POST ${url}/v1/runs -H "Authorization: Bearer ${adminKey}" \\`,
          `      -H 'Content-Type: application/json' -d '{"source":"module.exports = ({input}) => input.a + input.b","input":{"a":2,"b":3},"wait":true}'`,
          '',
          '  Stop with Ctrl-C.',
          '',
        ].join('\n'),
      );
    }
  }
  buffered = buffered.slice(buffered.lastIndexOf('\n') + 1);
});

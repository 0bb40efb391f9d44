// Integration test of Kiln's migration path against a real PostgreSQL:
// tools/prisma/migrate.mjs → local Prisma CLI → tools/prisma/schema-engine.mjs
// (the Wasm schema engine standing in for the native one).
//
// migrate.mjs is an ES module and Jest runs this file as CommonJS without
// --experimental-vm-modules, so its functions are called in a child Node
// process (see callMigrateModule): the same code path `npm run up` takes.
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';

const MIGRATE_MODULE = path.join(__dirname, 'migrate.mjs');
const MIGRATIONS_DIR = path.resolve(__dirname, '../../prisma/migrations');

// Any database on the test server; only its host, port and credentials are used.
const SERVER_URL = process.env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/postgres';

const runId = `${process.pid}_${Date.now().toString(36)}`;
const created = new Set<string>();

/** A database name no one else uses; dropped in afterAll. */
function freshDatabase(label: string): string {
  const name = `kiln_se_test_${runId}_${label}`;
  created.add(name);
  return name;
}

function urlFor(database: string): string {
  const url = new URL(SERVER_URL);
  url.pathname = `/${database}`;
  url.searchParams.delete('schema');
  return url.href;
}

async function withDatabase<T>(database: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: urlFor(database) });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const migrationFolders = readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

type CallResult = { result?: { applied?: string[] }; logs: string[] };

/** Calls an export of migrate.mjs in a child Node process; rejects with its error message. */
function callMigrateModule(fn: 'migrate' | 'checkDrift', databaseUrl: string): Promise<CallResult> {
  const script = `
    const { ${fn} } = await import(${JSON.stringify(MIGRATE_MODULE)});
    const logs = [];
    try {
      const result = await ${fn}({ databaseUrl: process.argv[1], log: (line) => logs.push(line) });
      process.stdout.write(JSON.stringify({ result, logs }));
    } catch (error) {
      process.stderr.write(error.message);
      process.exitCode = 1;
    }`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script, databaseUrl], (error, stdout, stderr) => {
      if (error) reject(new Error(`${fn}() failed: ${stderr || error.message}`));
      else resolve(JSON.parse(stdout) as CallResult);
    });
  });
}

async function databaseExists(database: string): Promise<boolean> {
  return withDatabase('postgres', async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    return rowCount === 1;
  });
}

/** migration_name → number of successful rows in _prisma_migrations. */
async function appliedCounts(database: string): Promise<Record<string, number>> {
  return withDatabase(database, async (client) => {
    const { rows } = await client.query<{ migration_name: string; n: number }>(
      `SELECT migration_name, count(*)::int AS n FROM _prisma_migrations
        WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL GROUP BY migration_name`,
    );
    return Object.fromEntries(rows.map((row) => [row.migration_name, row.n]));
  });
}

const oncePerFolder = () => Object.fromEntries(migrationFolders.map((name) => [name, 1]));

describe('Prisma migrations through the Wasm schema-engine stand-in', () => {
  const mainDb = freshDatabase('main');

  afterAll(async () => {
    await withDatabase('postgres', async (client) => {
      for (const name of created) {
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      }
    });
  });

  it('has at least one migration to apply', () => {
    expect(migrationFolders.length).toBeGreaterThan(0);
  });

  it('migrate() creates a missing database and applies every migration', async () => {
    expect(await databaseExists(mainDb)).toBe(false);

    const { result, logs } = await callMigrateModule('migrate', urlFor(mainDb));

    expect(result?.applied).toEqual(migrationFolders);
    expect(logs).toHaveLength(1);
    const tables = await withDatabase(mainDb, async (client) => {
      // to_regclass is NULL for a missing table; ::text makes pg return the name.
      const { rows } = await client.query<Record<string, string | null>>(
        `SELECT to_regclass('executions')::text AS executions, to_regclass('scripts')::text AS scripts,
                to_regclass('api_keys')::text AS api_keys`,
      );
      return rows[0];
    });
    expect(tables).toEqual({ executions: 'executions', scripts: 'scripts', api_keys: 'api_keys' });
    expect(await appliedCounts(mainDb)).toEqual(oncePerFolder());
  });

  it('a second migrate() is a no-op', async () => {
    const { result } = await callMigrateModule('migrate', urlFor(mainDb));

    expect(result?.applied).toEqual([]);
    expect(await appliedCounts(mainDb)).toEqual(oncePerFolder());
  });

  it('three concurrent deploys on a fresh database apply each migration once', async () => {
    const db = freshDatabase('concurrent');
    // Created empty beforehand: when the deploys also race to create it, the
    // CREATE DATABASE staggers them and they rarely overlap in the engine,
    // which is where the advisory lock has to do its job. (Creating a missing
    // database is covered above.)
    await withDatabase('postgres', (client) => client.query(`CREATE DATABASE "${db}"`));

    const results = await Promise.all([1, 2, 3].map(() => callMigrateModule('migrate', urlFor(db))));

    const applied = results.flatMap(({ result }) => result?.applied ?? []).sort();
    expect(applied).toEqual(migrationFolders);
    expect(await appliedCounts(db)).toEqual(oncePerFolder());
  });

  it('checkDrift() finds prisma/schema.prisma and prisma/migrations in agreement', async () => {
    const { logs } = await callMigrateModule('checkDrift', urlFor(mainDb));

    expect(logs.join('\n')).toMatch(/matches/);
  });
});

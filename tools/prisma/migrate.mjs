#!/usr/bin/env node
// Brings Kiln's PostgreSQL database up to date with prisma/migrations, for
// `npm run up` / `npm test` and for deployments:
//
//   DATABASE_URL=postgresql://… node tools/prisma/migrate.mjs           # create if missing + migrate deploy
//   DATABASE_URL=postgresql://… node tools/prisma/migrate.mjs --check-drift
//
// DATABASE_URL defaults to postgresql://postgres@127.0.0.1:5432/kiln.
//
// Migrations run through the local Prisma CLI with the Wasm schema-engine
// stand-in (tools/prisma/schema-engine.mjs), so nothing is downloaded.

import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const PRISMA_CLI = path.join(ROOT, 'node_modules', 'prisma', 'build', 'index.js');
const SCHEMA_ENGINE = path.join(ROOT, 'tools', 'prisma', 'schema-engine.mjs');
const MIGRATIONS_DIR = 'prisma/migrations';
const SCHEMA_FILE = 'prisma/schema.prisma';

// The same default as Kiln's runtime config (libs/config/src/env-schema.ts),
// so that migrations land where the apps look when DATABASE_URL is unset.
export const DEFAULT_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/kiln';

const defaultLog = (line) => console.log(line);

/**
 * Creates the database if it does not exist, then applies every pending
 * migration (`prisma migrate deploy`). Safe to run concurrently: the engine
 * serialises deploys with an advisory lock.
 * @returns {Promise<{ applied: string[] }>} the migrations this call applied
 */
export async function migrate({ databaseUrl = process.env.DATABASE_URL || DEFAULT_DATABASE_URL, log = defaultLog } = {}) {
  const target = describe(databaseUrl);
  const started = performance.now();
  await ensureDatabase(target);
  const result = await runPrisma(['migrate', 'deploy'], target);
  if (result.code !== 0) throw deployError(target, result);
  const applied = appliedMigrations(result.stdout);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  log(
    `migrate: database "${target.database}" at ${target.location} is up to date ` +
      `(${applied.length ? `applied ${applied.join(', ')}` : 'no pending migrations'}; ${seconds} s)`,
  );
  return { applied };
}

/**
 * Fails when prisma/schema.prisma and prisma/migrations describe different
 * databases, i.e. someone changed the schema without `prisma migrate dev`.
 * The engine replays the migrations into a temporary shadow database on the
 * DATABASE_URL server (created if missing), so PostgreSQL must be running.
 */
export async function checkDrift({ databaseUrl = process.env.DATABASE_URL || DEFAULT_DATABASE_URL, log = defaultLog } = {}) {
  const target = describe(databaseUrl);
  await ensureDatabase(target);
  const args = ['migrate', 'diff', '--from-migrations', MIGRATIONS_DIR, '--to-schema', SCHEMA_FILE, '--exit-code'];
  const result = await runPrisma(args, target);
  if (result.code === 0) {
    log(`migrate: ${SCHEMA_FILE} matches ${MIGRATIONS_DIR}`);
    return;
  }
  if (result.code === 2) {
    throw new Error(
      `${SCHEMA_FILE} and ${MIGRATIONS_DIR} differ:\n${result.stdout.trim()}\n` +
        'Create a migration for the change: npx prisma migrate dev --name <what-changed>',
    );
  }
  throw new Error(`prisma migrate diff failed (exit ${result.code}):\n${output(result)}`);
}

// ---------------------------------------------------------------------------

/** What the messages need from a connection string (never its password). */
function describe(databaseUrl) {
  if (!databaseUrl) {
    throw new Error('DATABASE_URL is not set: set it to postgresql://<user>@<host>:5432/<database>');
  }
  let url;
  try {
    url = new URL(databaseUrl);
  } catch {
    throw new Error('DATABASE_URL is not a valid URL: expected postgresql://<user>@<host>:5432/<database>');
  }
  if (!/^postgres(ql)?:$/.test(url.protocol)) {
    throw new Error(`DATABASE_URL must be a postgresql:// URL, not ${url.protocol}//…`);
  }
  const database = decodeURIComponent(url.pathname.slice(1));
  if (!database) throw new Error('DATABASE_URL names no database: expected postgresql://<user>@<host>:5432/<database>');
  const host = url.searchParams.get('host') || url.hostname || 'localhost';
  return {
    databaseUrl,
    database,
    user: decodeURIComponent(url.username) || 'the default user',
    location: `${host}:${url.port || 5432}`,
  };
}

/** pg wants neither Prisma's `?schema=` nor its other engine parameters. */
function pgConnectionString(databaseUrl, database) {
  const url = new URL(databaseUrl);
  for (const p of ['schema', 'connection_limit', 'pool_timeout', 'socket_timeout', 'pgbouncer', 'statement_cache_size']) {
    url.searchParams.delete(p);
  }
  if (database) url.pathname = `/${encodeURIComponent(database)}`;
  return url.href;
}

/**
 * Connects first with pg, so that an unreachable server or bad credentials
 * fail fast with a message that says what to do, and creates the database
 * when it is missing.
 */
async function ensureDatabase(target) {
  try {
    await withClient(pgConnectionString(target.databaseUrl), () => {});
    return;
  } catch (error) {
    if (error.code !== '3D000') throw connectionError(target, error);
  }
  try {
    await withClient(pgConnectionString(target.databaseUrl, 'postgres'), async (client) => {
      await client.query(`CREATE DATABASE "${target.database.replaceAll('"', '""')}"`).catch((error) => {
        // Another process created it in the meantime (42P04, or 23505 when
        // the two CREATEs collide in the catalog): fine.
        if (error.code !== '42P04' && error.code !== '23505') throw error;
      });
    });
  } catch (error) {
    throw connectionError(target, error, `could not create database "${target.database}"`);
  }
}

async function withClient(connectionString, fn) {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

function connectionError(target, error, doing) {
  const at = `PostgreSQL at ${target.location}`;
  switch (error.code) {
    case 'ECONNREFUSED':
      return new Error(`${at} refused the connection: start it, or set DATABASE_URL`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new Error(`${at}: unknown host: fix the host in DATABASE_URL`);
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
      return new Error(`${at} did not answer: check that it is running and reachable, or set DATABASE_URL`);
    case '28P01':
    case '28000':
      return new Error(`${at} rejected ${target.user}: fix the user or password in DATABASE_URL`);
    case '42501':
      return new Error(`${at}: ${target.user} may not create databases: create "${target.database}" yourself, or grant CREATEDB`);
    default:
      if (error.message?.includes('timeout')) {
        return new Error(`${at} did not answer within 10 s: check that it is running, or set DATABASE_URL`);
      }
      return new Error(`${at}: ${doing ? `${doing}: ` : ''}${error.message}`);
  }
}

/** Runs the local Prisma CLI with the stand-in engine; never downloads anything. */
function runPrisma(args, target) {
  const env = {
    ...process.env,
    DATABASE_URL: target.databaseUrl,
    PRISMA_SCHEMA_ENGINE_BINARY: SCHEMA_ENGINE,
    // No update check, no telemetry: nothing phones home.
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
    CHECKPOINT_DISABLE: '1',
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PRISMA_CLI, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
}

/** Names under "The following migration(s) have been applied:" (`└─ <name>/`). */
function appliedMigrations(stdout) {
  return [...stdout.matchAll(/└─ ([^/\s]+)\/\s*$/gm)].map((m) => m[1]);
}

// The CLI's own wording, minus the lines that only repeat the config.
function output(result) {
  return `${result.stderr}\n${result.stdout}`
    .split('\n')
    .filter((line) => line.trim() && !/^(Loaded Prisma config|Prisma schema loaded|Datasource "db")/.test(line))
    .join('\n');
}

/** A deploy failure, with the fix for the failures we know. */
function deployError(target, result) {
  const text = output(result);
  const code = /\b(P\d{4})\b/.exec(text)?.[1];
  const migration = /Migration name: (\S+)/.exec(text)?.[1] ?? /Following migrations? have failed:\s*\n(\S+)/.exec(text)?.[1];
  const fixes = {
    P1001: `PostgreSQL at ${target.location} refused the connection: start it, or set DATABASE_URL`,
    P1000: `PostgreSQL at ${target.location} rejected ${target.user}: fix the user or password in DATABASE_URL`,
    P3018:
      `migration ${migration} failed and was not applied. Fix prisma/migrations/${migration}/migration.sql, ` +
      `then mark it rolled back (npx prisma migrate resolve --rolled-back ${migration}) and run this again`,
    P3009:
      `database "${target.database}" has a failed migration (${migration ?? 'see below'}): ` +
      'fix it, then npx prisma migrate resolve --rolled-back <name> (or --applied <name>) and run this again',
    P3005:
      `database "${target.database}" already has tables but no migration history: ` +
      'point DATABASE_URL at an empty database, or baseline it with npx prisma migrate resolve --applied <first migration>',
  };
  const fix = fixes[code] ?? `prisma migrate deploy failed (exit ${result.code})`;
  return new Error(`${fix}\n${text}`);
}

// ---------------------------------------------------------------------------

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const run = process.argv.includes('--check-drift') ? checkDrift : migrate;
  run().catch((error) => {
    console.error(`migrate: ${error.message}`);
    process.exitCode = 1;
  });
}

#!/usr/bin/env node
// Stand-in for Prisma's native schema engine, so that `prisma migrate …` and
// `prisma db push` work without downloading a platform binary (air-gapped
// machines, CI without internet). prisma.config.ts points
// PRISMA_SCHEMA_ENGINE_BINARY here; the Prisma CLI then spawns this script
// exactly as it would spawn the native `schema-engine` binary.
//
// It drives the Wasm build of the same engine (@prisma/schema-engine-wasm)
// over the pg driver adapter (@prisma/adapter-pg). The CLI↔engine protocol is
// not a public API: keep prisma, @prisma/schema-engine-wasm,
// @prisma/adapter-pg and @prisma/driver-adapter-utils pinned together.
//
// Two modes, as in the native engine:
//   schema-engine --datasource '{"url":…}' cli <command>
//       one-shot: can-connect-to-database | create-database | drop-database
//   schema-engine [--datamodels <path>]… [--datasource '{"url":…}']
//       JSON-RPC 2.0, one JSON object per line on stdin/stdout.
// PostgreSQL only.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import readline from 'node:readline';
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import * as wasmGlue from '@prisma/schema-engine-wasm/schema_engine_bg';

const require = createRequire(import.meta.url);

// ---------------------------------------------------------------------------
// Arguments

function parseArgs(argv) {
  const args = { datamodels: [], datasource: null, cliCommand: null, version: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    switch (arg) {
      case '--version':
      case '-V':
        args.version = true;
        break;
      case '--datamodels':
      case '-d':
        args.datamodels.push(argv[++i]);
        break;
      case '--datasource':
        args.datasource = JSON.parse(argv[++i]);
        break;
      // Accepted for compatibility with the native engine; the Wasm engine
      // takes neither (PostgreSQL extensions and preview features are read
      // from the schema itself).
      case '--enabled-preview-features':
      case '--extension-types':
        i++;
        break;
      case 'cli':
        args.cliCommand = argv[++i];
        break;
      default:
        throw new Error(`schema-engine stand-in: unknown argument ${arg}`);
    }
  }
  return args;
}

// ---------------------------------------------------------------------------
// Connection strings

// Query parameters that mean something to Prisma's engines but not to pg.
const PRISMA_ONLY_PARAMS = ['schema', 'connection_limit', 'pool_timeout', 'socket_timeout', 'pgbouncer', 'statement_cache_size'];

/** Splits a Prisma PostgreSQL URL into what pg needs and what the engine needs. */
function parseDatabaseUrl(url) {
  if (!url) {
    throw new UserFacingError('P1012', 'The datasource URL is empty: set DATABASE_URL (read by prisma.config.ts).');
  }
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    throw new UserFacingError('P1013', 'The provided database string is invalid: it is not a URL.');
  }
  if (!/^postgres(ql)?:$/.test(parsed.protocol)) {
    throw new UserFacingError('P1013', `The Kiln schema-engine stand-in supports PostgreSQL only, not ${parsed.protocol}`);
  }
  const schema = parsed.searchParams.get('schema') || undefined;
  for (const p of PRISMA_ONLY_PARAMS) parsed.searchParams.delete(p);
  const database = decodeURIComponent(parsed.pathname.slice(1)) || 'postgres';
  const host = parsed.searchParams.get('host') || parsed.hostname || 'localhost';
  const port = parsed.port || '5432';
  return { url: parsed, database, schema, location: `${host}:${port}` };
}

/** The same server, another database. */
function withDatabase(target, database) {
  const url = new URL(target.url);
  url.pathname = `/${encodeURIComponent(database)}`;
  return { ...target, url, database };
}

const quoteIdent = (name) => `"${name.replaceAll('"', '""')}"`;

function newPool(target) {
  return new pg.Pool({
    connectionString: target.url.href,
    // The engine serialises concurrent deploys with a session-level advisory
    // lock that it never releases explicitly: the lock lasts as long as the
    // connection that took it. So: one connection, which does all the work,
    // and which is never closed for idleness (that would drop the lock in the
    // middle of a command), only when this process ends.
    max: 1,
    idleTimeoutMillis: 0,
    // …and which does not keep this process alive once the CLI is done.
    allowExitOnIdle: true,
    // Unqualified SQL in migrations goes to `?schema=` like with the native engine.
    ...(target.schema ? { options: `-c search_path=${quoteIdent(target.schema)}` } : {}),
  });
}

// One short connection for administrative statements (CREATE/DROP DATABASE),
// which PostgreSQL only accepts outside the target database.
async function withAdminClient(target, fn) {
  let lastError;
  // `postgres` is the usual maintenance database; template1 always exists.
  for (const database of ['postgres', 'template1']) {
    const client = new pg.Client({ connectionString: withDatabase(target, database).url.href });
    try {
      await client.connect();
    } catch (error) {
      lastError = error;
      await client.end().catch(() => {});
      if (error.code === '3D000') continue;
      throw error;
    }
    try {
      return await fn(client);
    } finally {
      await client.end().catch(() => {});
    }
  }
  throw lastError;
}

async function createDatabase(target) {
  await withAdminClient(target, async (client) => {
    try {
      await client.query(`CREATE DATABASE ${quoteIdent(target.database)}`);
    } catch (error) {
      // Several processes may race to create the same database (three
      // `migrate deploy`s on a fresh machine): the loser's database exists
      // all the same. 42P04 = duplicate_database; 23505 is what PostgreSQL
      // raises when the two CREATEs collide in the catalog.
      if (error.code !== '42P04' && error.code !== '23505') throw error;
    }
  });
}

async function dropDatabase(target) {
  await withAdminClient(target, (client) =>
    // FORCE: terminate leftover sessions (a pool that has not yet noticed it
    // should close) instead of failing with "being accessed by other users".
    client.query(`DROP DATABASE IF EXISTS ${quoteIdent(target.database)} WITH (FORCE)`),
  );
}

async function resetShadowSchema(shadow, main) {
  if (shadow.location === main.location && shadow.database === main.database) {
    throw new UserFacingError('P3014', 'The shadow database you configured appears to be the same as the main database. Please specify another shadow database.');
  }
  const schema = quoteIdent(shadow.schema ?? 'public');
  const client = new pg.Client({ connectionString: shadow.url.href });
  try {
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
  } finally {
    await client.end().catch(() => {});
  }
}

async function canConnect(target) {
  const client = new pg.Client({ connectionString: target.url.href });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => {});
  }
}

// ---------------------------------------------------------------------------
// Errors

/** An error with a Prisma error code (P1001, …), shown to the user as is. */
class UserFacingError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/** Maps pg/socket errors to the codes and wording of the native engine. */
function toUserFacingError(error, target) {
  if (error instanceof UserFacingError) return error;
  const at = target ? `\`${target.location}\`` : 'the database server';
  switch (error.code) {
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ECONNRESET':
      return new UserFacingError('P1001', `Can't reach database server at ${at}\n\nPlease make sure your database server is running at ${at}.`);
    case '3D000':
      return new UserFacingError('P1003', target ? `Database \`${target.database}\` does not exist on the database server at ${at}.` : error.message);
    case '28P01':
    case '28000':
      return new UserFacingError(
        'P1000',
        `Authentication failed against database server at ${at}, the provided database credentials are not valid.\n\nPlease make sure to provide valid database credentials for the database server at ${at}.`,
      );
    case '42501':
      return new UserFacingError('P1010', `User was denied access: ${error.message}`);
    default:
      return new UserFacingError(undefined, `${error.message}${error.code ? ` (${error.code})` : ''}`);
  }
}

// ---------------------------------------------------------------------------
// One-shot `cli` mode

const CLI_COMMANDS = {
  'can-connect-to-database': canConnect,
  'create-database': createDatabase,
  'drop-database': dropDatabase,
};

async function runCliCommand(command, datasource) {
  const run = CLI_COMMANDS[command];
  if (!run) throw new Error(`schema-engine stand-in: unknown cli command ${command}`);
  let target;
  try {
    target = parseDatabaseUrl(datasource?.url);
    await run(target);
    return 0;
  } catch (error) {
    const { code, message } = toUserFacingError(error, target);
    // The CLI drops the first stderr line and parses every following line as
    // a JSON log event; it reports the ERROR event's code and message.
    process.stderr.write(`schema-engine stand-in: ${command} failed\n`);
    logEvent('ERROR', message, { error_code: code });
    return 1;
  }
}

// ---------------------------------------------------------------------------
// Driver adapter

// pg type OIDs that PostgreSQL's catalogs return (`"char"`: pg_class.relkind,
// pg_constraint.contype, …) and that @prisma/adapter-pg refuses with "Column
// type 'char' could not be deserialized". pg hands them over as strings, so
// declaring them text is exact. (`name`, 19, is already mapped by the adapter;
// listed in case an older adapter is installed.)
const CATALOG_TEXT_OIDS = new Set([18, 19]);
const TEXT_OID = 25;

/** Makes a pg adapter or transaction report catalog-only types as text. */
function acceptCatalogTypes(queryable) {
  // performIO is the adapter's single path to pg for queryRaw/executeRaw.
  const performIO = queryable.performIO.bind(queryable);
  queryable.performIO = async (query) => {
    const result = await performIO(query);
    for (const field of result?.fields ?? []) {
      if (CATALOG_TEXT_OIDS.has(field.dataTypeID)) field.dataTypeID = TEXT_OID;
    }
    return result;
  };
  return queryable;
}

// The last error PostgreSQL raised while running a script, for the P3018
// message: the engine only keeps the adapter's one-line summary of it.
let lastScriptError;

async function connectAdapter(pool, target) {
  const adapter = await new PrismaPg(pool, target.schema ? { schema: target.schema } : undefined).connect();
  acceptCatalogTypes(adapter);
  const startTransaction = adapter.startTransaction.bind(adapter);
  adapter.startTransaction = async (...args) => acceptCatalogTypes(await startTransaction(...args));
  // The adapter splits scripts on every `;`, which breaks migrations with
  // PL/pgSQL bodies or string literals containing one. Send the script whole
  // instead, as the native engine does: a parameterless query goes over
  // PostgreSQL's simple-query protocol, which takes many statements (and runs
  // them as one implicit transaction, so a failing migration leaves nothing
  // half-applied).
  adapter.executeScript = async (script) => {
    lastScriptError = undefined;
    try {
      await pool.query(script);
    } catch (error) {
      lastScriptError = error;
      adapter.onError(error);
    }
  };
  return adapter;
}

/**
 * The adapter factory handed to the Wasm engine: the main database, and a
 * shadow database for `migrate dev` / `migrate diff --from-migrations`.
 */
function createAdapterFactory(datasource) {
  const pools = new Set();
  const shadows = new Set(); // cleanups of temporary shadow databases still alive
  const track = (pool) => (pools.add(pool), pool);
  const untrack = async (pool) => {
    pools.delete(pool);
    await pool.end().catch(() => {});
  };

  const factory = {
    provider: 'postgres',
    adapterName: '@prisma/adapter-pg',

    async connect() {
      const target = parseDatabaseUrl(datasource?.url);
      const pool = track(newPool(target));
      const adapter = await connectAdapter(pool, target);
      adapter.dispose = () => untrack(pool);
      return adapter;
    },

    // Not the adapter's own connectToShadowDb: it drops the shadow database
    // while its own pool is still connected (so the DROP fails and the
    // database leaks) and builds the shadow pool as {...config, database},
    // which pg overrides with the database of `connectionString` — the shadow
    // then silently IS the main database. Here the shadow is a fresh database
    // on the same server, addressed by its own URL, dropped WITH (FORCE)
    // after its pool is closed.
    async connectToShadowDb() {
      if (datasource?.shadowDatabaseUrl) {
        // An explicitly configured shadow database is the user's: never drop
        // it, but empty it first as the native engine does (the Wasm engine
        // does not, and leftovers would show up as drift).
        const target = parseDatabaseUrl(datasource.shadowDatabaseUrl);
        await resetShadowSchema(target, parseDatabaseUrl(datasource.url));
        const pool = track(newPool(target));
        const adapter = await connectAdapter(pool, target);
        adapter.dispose = () => untrack(pool);
        return adapter;
      }
      const main = parseDatabaseUrl(datasource?.url);
      const target = withDatabase(main, `prisma_migrate_shadow_db_${crypto.randomUUID()}`);
      await createDatabase(target);
      const pool = track(newPool(target));
      const adapter = await connectAdapter(pool, target);
      const cleanup = async () => {
        shadows.delete(cleanup);
        await untrack(pool);
        await dropDatabase(target);
      };
      shadows.add(cleanup);
      adapter.dispose = cleanup;
      return adapter;
    },
  };

  return {
    factory: bindMigrationAwareSqlAdapterFactory(factory),
    // Temporary shadow databases the engine did not dispose of (after a
    // panic, say); it does dispose of them after failed commands.
    dropShadows: () => Promise.all([...shadows].map((cleanup) => cleanup())),
    close: () => Promise.all([...pools].map(untrack)),
  };
}

// ---------------------------------------------------------------------------
// Wasm engine

// The Wasm build's panic hook writes the panic message here before the
// instance traps (the Prisma CLI defines the same global for its own Wasm).
const panicRegistry = {
  message: '',
  set_message(message) {
    this.message = message;
  },
};

function loadWasm() {
  globalThis.PRISMA_WASM_PANIC_REGISTRY = panicRegistry;
  // The package's own entry point imports the .wasm file as an ES module,
  // which Node only allows behind a flag; instantiate it by hand instead and
  // hand the instance to the wasm-bindgen glue.
  const wasmPath = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg').replace(/\.js$/, '.wasm');
  const module = new WebAssembly.Module(fs.readFileSync(wasmPath));
  const instance = new WebAssembly.Instance(module, { './schema_engine_bg.js': wasmGlue });
  wasmGlue.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start();
  return wasmGlue;
}

async function createEngine(args, adapterFactory) {
  const { SchemaEngine } = loadWasm();
  // The engine wants `undefined` or a non-empty list of [path, content].
  const datamodels = args.datamodels.length
    ? args.datamodels.map((file) => [file, fs.readFileSync(file, 'utf8')])
    : undefined;
  // Engine log events are JSON lines; the CLI reads them from stderr (and
  // keeps the last ERROR event for its messages).
  const log = (line) => process.stderr.write(`${line}\n`);
  return SchemaEngine.new({ datamodels }, log, adapterFactory);
}

// Method names the CLI sends that the Wasm engine spells differently.
const METHOD_ALIASES = { getDatabaseVersion: 'version' };

// Engine failures that mean "the shadow database is not set up yet": the Wasm
// engine only wires the shadow factory in while diagnosing the migration
// history, so a cold evaluateDataLoss/createMigration fails with this. One
// diagnoseMigrationHistory with the same migrations warms it up.
const COLD_SHADOW = /shadow DB must be provided through an external factory/i;

class EngineHost {
  constructor(args) {
    this.args = args;
    this.engine = null;
    this.adapters = null;
  }

  async call(method, params) {
    const name = METHOD_ALIASES[method] ?? method;
    // `version` takes an optional {datasource}; anything else makes the
    // bindings throw outside the request's promise.
    if (name === 'version' && !params?.datasource) params = undefined;
    const engine = await this.getEngine();
    if (typeof engine[name] !== 'function') {
      throw new UserFacingError(null, `The Kiln schema-engine stand-in (Wasm engine) does not implement \`${method}\`.`);
    }
    try {
      // Called as a method: the Wasm bindings need `this`.
      return await engine[name](params);
    } catch (error) {
      if (!(name === 'evaluateDataLoss' || name === 'createMigration') || !COLD_SHADOW.test(error?.message)) throw error;
      await engine.diagnoseMigrationHistory({
        migrationsList: params.migrationsList,
        optInToShadowDatabase: true,
        filters: params.filters,
      });
      return await engine[name](params);
    }
  }

  async getEngine() {
    // Created on the first request, not at start-up: `migrate deploy` spawns
    // the engine before it creates a missing database.
    if (!this.engine) {
      this.adapters = createAdapterFactory(this.args.datasource);
      this.engine = createEngine(this.args, this.adapters.factory);
    }
    return this.engine;
  }

  /**
   * The JavaScript error behind an engine error. Errors thrown by the adapter
   * factory (ours, or pg's that the adapter does not classify) reach the
   * engine only as an id in the factory's error registry; the engine then
   * reports "External error id#<n>".
   */
  adapterError(error) {
    const id = /External error id#(\d+)/.exec(String(error?.message))?.[1];
    return id === undefined ? undefined : this.adapters?.factory.errorRegistry.consumeError(Number(id))?.error;
  }

  async close() {
    const engine = await this.engine?.catch(() => null);
    engine?.free();
    await this.adapters?.dropShadows();
    await this.adapters?.close();
  }
}

// ---------------------------------------------------------------------------
// JSON-RPC mode

const JSON_RPC_ERROR = 4466; // what the native engine uses for every failure

/** The `error` member the CLI expects: data.message, data.error_code, data.is_panic. */
function toRpcError(error, host) {
  const isPanic = error instanceof WebAssembly.RuntimeError;
  if (isPanic) {
    const message = panicRegistry.message || error.message;
    return { code: JSON_RPC_ERROR, message, data: { is_panic: true, message, error: { message } } };
  }
  const cause = host.adapterError(error);
  const { code, message } = cause ? toUserFacingError(cause) : (migrationFailure(error) ?? error);
  const data = { is_panic: false, message: message ?? String(error) };
  // The CLI prints error_code above the message, so only Prisma's P-codes.
  if (typeof code === 'string' && /^P\d{4}$/.test(code)) data.error_code = code;
  if (error?.meta) data.meta = error.meta;
  return { code: JSON_RPC_ERROR, message: 'An error happened. Check the data field for details.', data };
}

/**
 * The native engine reports a failed migration as P3018 with the database's
 * own error; the Wasm engine as "external connector error" plus a trace.
 * Rebuild the former from the trace and the error PostgreSQL raised.
 */
function migrationFailure(error) {
  const text = String(error?.message);
  const migration = /apply_script\s+with migration_name="([^"]+)"/.exec(text)?.[1];
  if (error?.name !== 'SchemaConnectorError' || !migration) return undefined;
  const summary = text.split('\n')[1] ?? text;
  const dbError = lastScriptError;
  const details = dbError?.code
    ? `Database error code: ${dbError.code}\n\nDatabase error:\nERROR: ${dbError.message}${dbError.position ? ` (at character ${dbError.position})` : ''}`
    : `Database error:\n${summary}`;
  return {
    code: 'P3018',
    message:
      'A migration failed to apply. New migrations cannot be applied before the error is recovered from. ' +
      'Read more about how to resolve migration issues in a production database: https://pris.ly/d/migrate-resolve' +
      `\n\nMigration name: ${migration}\n\n${details}`,
  };
}

/** A log event in the engine's format, which the CLI parses from stderr. */
function logEvent(level, message, extra = {}) {
  const event = { timestamp: new Date().toISOString(), level, fields: { message, ...extra }, target: 'schema_engine::logger' };
  process.stderr.write(`${JSON.stringify(event)}\n`);
}

function send(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

let printRequestId = 0;
let inFlight; // id of the request being handled

async function handleRequest(host, request) {
  const { id, method, params } = request;
  inFlight = id;
  try {
    const result = await host.call(method, params);
    if (method === 'diff' && result) {
      // The native engine does not return the diff: it asks the CLI to print
      // it with a JSON-RPC request of its own, and the CLI only prints that.
      const { stdout, ...rest } = result;
      if (stdout) send({ jsonrpc: '2.0', id: `print-${++printRequestId}`, method: 'print', params: { content: stdout } });
      send({ jsonrpc: '2.0', id, result: { ...rest, stdout: null } });
      return;
    }
    send({ jsonrpc: '2.0', id, result: result ?? {} });
  } catch (error) {
    send({ jsonrpc: '2.0', id, error: toRpcError(error, host) });
    // A panicked Wasm instance is unusable; exit like the native engine (101).
    if (error instanceof WebAssembly.RuntimeError) await shutdown(host, 101);
  } finally {
    inFlight = undefined;
  }
}

async function shutdown(host, code) {
  await host.close().catch(() => {});
  process.exit(code);
}

function serveJsonRpc(args) {
  const host = new EngineHost(args);
  // The Wasm glue can throw from inside an engine future (e.g. a malformed
  // request), leaving the request's promise unsettled. Fail loudly instead of
  // hanging: the CLI reports the last ERROR log event when the engine exits 1.
  const die = (error) => {
    const message = `${error?.message ?? error}`;
    if (inFlight !== undefined) {
      send({ jsonrpc: '2.0', id: inFlight, error: { code: JSON_RPC_ERROR, message, data: { is_panic: false, message } } });
    }
    logEvent('ERROR', message);
    process.exit(1);
  };
  process.on('uncaughtException', die);
  process.on('unhandledRejection', die);
  let queue = Promise.resolve();
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (!line.trim()) return;
    let message;
    try {
      message = JSON.parse(line);
    } catch {
      send({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } });
      return;
    }
    // Responses (the CLI's acknowledgement of a `print`) need no handling.
    if (!message.method) return;
    // One request at a time, in order, as the native engine does.
    queue = queue.then(() => handleRequest(host, message));
  });
  // The CLI ends stdin when it is done with the engine.
  lines.on('close', () => queue.then(() => shutdown(host, 0)));
}

// ---------------------------------------------------------------------------

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.version) {
    // The Wasm build reports the prisma-engines commit it was built from.
    process.stdout.write(`schema-engine-cli ${loadWasm().version()} (Wasm, Kiln stand-in)\n`);
    return;
  }
  if (args.cliCommand) {
    process.exitCode = await runCliCommand(args.cliCommand, args.datasource);
    return;
  }
  serveJsonRpc(args);
}

main().catch((error) => {
  process.stderr.write(`${error?.stack ?? error}\n`);
  process.exit(1);
});

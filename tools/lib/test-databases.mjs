// Test databases: one migrated template per migration set, cloned per test
// file (CREATE DATABASE … TEMPLATE), named with the run id so a run cleans
// up after itself and stale ones from crashed runs are found later.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { root } from './steps.mjs';

const PREFIX = 'kiln_t_';
const TEMPLATE_PREFIX = 'kiln_tpl_';

function migrationsHash() {
  const dir = path.join(root, 'prisma', 'migrations');
  const hash = createHash('sha256');
  for (const entry of readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort()) {
    hash.update(entry).update(readFileSync(path.join(dir, entry, 'migration.sql')));
  }
  return hash.digest('hex').slice(0, 12);
}

export async function prepareTemplate(adminUrl, { pgQuery, withDatabase, say }) {
  const hash = migrationsHash();
  // Named <hash>_<created, base36 seconds>: a run on newer migrations can
  // tell how old another run's template is before dropping it.
  const current = await pgQuery(adminUrl, `SELECT datname FROM pg_database WHERE starts_with(datname, $1) AND NOT datname LIKE '%building' ORDER BY datname DESC LIMIT 1`, [
    `${TEMPLATE_PREFIX}${hash}_`,
  ]);
  if (current.rowCount > 0) {
    say(`test template database ${current.rows[0].datname} is current`);
    return current.rows[0].datname;
  }
  const name = `${TEMPLATE_PREFIX}${hash}_${Math.floor(Date.now() / 1000).toString(36)}`;
  say(`creating test template database ${name}`);
  const { migrate } = await import(path.join(root, 'tools', 'prisma', 'migrate.mjs'));
  const building = `${name}_building`;
  await pgQuery(adminUrl, `DROP DATABASE IF EXISTS "${building}" WITH (FORCE)`);
  await migrate({ databaseUrl: withDatabase(adminUrl, building), log: (m) => say(m) });
  // Renamed only when complete, so a half-built template is never cloned.
  await pgQuery(adminUrl, `ALTER DATABASE "${building}" RENAME TO "${name}"`);
  // Templates of other migration sets may still be in use by a concurrent
  // run (another branch, another engineer): drop only those over a day old.
  const cutoff = Math.floor(Date.now() / 1000) - 24 * 3600;
  const old = await pgQuery(adminUrl, `SELECT datname FROM pg_database WHERE starts_with(datname, $1) AND datname <> $2`, [TEMPLATE_PREFIX, name]);
  for (const { datname } of old.rows) {
    const created = parseInt(datname.split('_').pop(), 36);
    if (!datname.startsWith(`${TEMPLATE_PREFIX}${hash}`) && (!Number.isFinite(created) || created < cutoff)) {
      await pgQuery(adminUrl, `DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`).catch(() => undefined);
    }
  }
  return name;
}

/** Test databases of runs that started more than two hours ago (crashed or killed). */
export async function dropStaleTestDatabases(adminUrl, { pgQuery }) {
  const cutoff = Math.floor(Date.now() / 1000) - 2 * 3600;
  // starts_with, not LIKE: in LIKE patterns `_` matches any character, and
  // 'kiln_t_%' would match the templates (kiln_tpl_…) too.
  const rows = await pgQuery(adminUrl, `SELECT datname FROM pg_database WHERE starts_with(datname, $1)`, [PREFIX]);
  for (const { datname } of rows.rows) {
    const stamp = parseInt(datname.slice(PREFIX.length).split('_')[0].slice(0, 6), 36);
    if (Number.isFinite(stamp) && stamp < cutoff) await pgQuery(adminUrl, `DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`).catch(() => undefined);
  }
}

export async function dropRunDatabases(adminUrl, runId, { pgQuery, say }) {
  const rows = await pgQuery(adminUrl, `SELECT datname FROM pg_database WHERE starts_with(datname, $1)`, [`${PREFIX}${runId}`]);
  for (const { datname } of rows.rows) await pgQuery(adminUrl, `DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  say(`dropped ${rows.rowCount} test databases`);
}

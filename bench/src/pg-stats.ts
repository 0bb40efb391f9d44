import { adminQuery, type BenchStack } from './stack';

export interface DatabaseCounters {
  xactCommit: number;
  xactRollback: number;
}

export interface TableCounters {
  inserted: number;
  updated: number;
  hotUpdated: number;
  deleted: number;
}

/**
 * pg_stat_database of the bench database only, read from the admin
 * database so that reading it is not counted in it. PostgreSQL (15+) flushes
 * a backend's counters within about a second of it going idle: wait ~2 s
 * after the work before reading.
 */
export async function databaseCounters(stack: BenchStack): Promise<DatabaseCounters> {
  const rows = await adminQuery<{ xact_commit: string; xact_rollback: string }>(
    stack.options.adminUrl,
    'SELECT xact_commit, xact_rollback FROM pg_stat_database WHERE datname = $1',
    [stack.databaseName],
  );
  const row = rows[0];
  return { xactCommit: Number(row?.xact_commit ?? 0), xactRollback: Number(row?.xact_rollback ?? 0) };
}

/** pg_stat_user_tables of the bench database (one counted harness query). */
export async function tableCounters(stack: BenchStack): Promise<Map<string, TableCounters>> {
  const rows = await stack.query<{ relname: string; n_tup_ins: string; n_tup_upd: string; n_tup_hot_upd: string; n_tup_del: string }>(
    'SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del FROM pg_stat_user_tables',
  );
  return new Map(
    rows.map((r) => [r.relname, { inserted: Number(r.n_tup_ins), updated: Number(r.n_tup_upd), hotUpdated: Number(r.n_tup_hot_upd), deleted: Number(r.n_tup_del) }]),
  );
}

export function tableDelta(before: Map<string, TableCounters>, after: Map<string, TableCounters>): { rowsWritten: number; byTable: Record<string, TableCounters> } {
  const byTable: Record<string, TableCounters> = {};
  let rowsWritten = 0;
  for (const [table, a] of after) {
    const b = before.get(table) ?? { inserted: 0, updated: 0, hotUpdated: 0, deleted: 0 };
    const d = { inserted: a.inserted - b.inserted, updated: a.updated - b.updated, hotUpdated: a.hotUpdated - b.hotUpdated, deleted: a.deleted - b.deleted };
    if (d.inserted || d.updated || d.deleted) {
      byTable[table] = d;
      rowsWritten += d.inserted + d.updated + d.deleted;
    }
  }
  return { rowsWritten, byTable };
}

/** PIDs of the PostgreSQL backends connected to the bench database (for CPU accounting). */
export async function backendPids(stack: BenchStack): Promise<number[]> {
  const rows = await adminQuery<{ pid: number }>(stack.options.adminUrl, 'SELECT pid FROM pg_stat_activity WHERE datname = $1', [stack.databaseName]).catch(
    () => [] as { pid: number }[],
  );
  return rows.map((r) => r.pid);
}

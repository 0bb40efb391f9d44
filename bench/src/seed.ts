import { randomBytes } from 'node:crypto';
import { JobName } from '@kiln/queue';
import type { BenchContext } from './context';
import { say } from './log';

// Seeding bypasses the gateway on purpose: it writes what the gateway
// writes (a pending executions row, then an `execution.run` job whose id is
// the execution id, with the producer's job options from
// libs/queue/src/execution-queue.ts), fast enough for 10^5–10^6 runs.

const RUN_JOB_OPTIONS = {
  attempts: 3,
  backoff: { type: 'fixed', delay: 250 },
  removeOnComplete: true,
  removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
};

/** A time-ordered UUID (version 7), as Kiln's ids are. */
export function uuidv7(ms = Date.now()): string {
  const b = randomBytes(16);
  b.writeUIntBE(ms, 0, 6);
  b[6] = ((b[6] as number) & 0x0f) | 0x70;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export async function addRunJobs(ctx: BenchContext, runs: { id: string; tenantId: string }[]): Promise<void> {
  for (let i = 0; i < runs.length; i += 1000) {
    await ctx.stack.queue.addBulk(
      runs.slice(i, i + 1000).map((r) => ({ name: JobName.ExecutionRun, data: { executionId: r.id, tenantId: r.tenantId }, opts: { ...RUN_JOB_OPTIONS, jobId: r.id } })),
    );
  }
}

/** `count` pending runs of one bench script, rows first, then their jobs (in chunks, so a worker starts at once). */
export async function seedPendingRuns(ctx: BenchContext, script: string, count: number, onChunk?: (seeded: number) => void): Promise<void> {
  const scriptId = (ctx.tenant.scripts[script] as { id: string }).id;
  const input = JSON.stringify({ a: 2, b: 3 });
  const chunk = 5000;
  for (let done = 0; done < count; done += chunk) {
    const n = Math.min(chunk, count - done);
    const ids = Array.from({ length: n }, () => uuidv7());
    await ctx.stack.query(
      `INSERT INTO executions (id, tenant_id, script_id, script_version, status, trigger, input, timeout_ms, memory_mb)
       SELECT unnest($1::uuid[]), $2::uuid, $3::uuid, 1, 'pending', '{"type":"api","bench":"seeded"}'::jsonb, $4::jsonb, 30000, 64`,
      [ids, ctx.tenant.id, scriptId, input],
    );
    await addRunJobs(ctx, ids.map((id) => ({ id, tenantId: ctx.tenant.id })));
    onChunk?.(done + n);
  }
}

export interface HistorySpec {
  /** Finished rows to write (completed 92 %, failed 6 %, cancelled 2 %). */
  rows: number;
  /** Of which this share belongs to the bench tenant, */
  benchTenantShare: number;
  /** and half of those to this script (the one whose list is measured). */
  hotScriptId: string;
}

/**
 * History as an installation accumulates it: created_at spread evenly over
 * the last 90 days; 20 % of rows on the bench tenant (half of them on one hot
 * script, the rest over 18 others), 80 % over 49 other tenants with 10
 * scripts each. Ids are UUIDv7 built from created_at. Written by two
 * connections in parallel, 50,000 rows per statement.
 */
export async function seedHistory(ctx: BenchContext, spec: HistorySpec): Promise<void> {
  const statement = `
    INSERT INTO executions (id, tenant_id, script_id, script_version, status, trigger, input, output, logs, error, attempts, worker_id,
                            timeout_ms, memory_mb, created_at, started_at, finished_at, duration_ms, queue_wait_ms)
    SELECT (lpad(to_hex((extract(epoch FROM s.created_at) * 1000)::bigint), 12, '0') || '7' || substr(s.h, 1, 3) || '8' || substr(s.h, 4, 15))::uuid,
           s.tenant_id, s.script_id, 1, s.status::"ExecutionStatus", '{"type":"api","bench":"seeded"}'::jsonb,
           jsonb_build_object('a', s.g, 'b', 1),
           CASE WHEN s.status = 'completed' THEN jsonb_build_object('sum', s.g + 1) END,
           '[]'::jsonb,
           CASE WHEN s.status = 'failed' THEN '{"code":"EXECUTION_ERROR","message":"Error: seeded failure"}'::jsonb END,
           1, 'bench-seed', 30000, 64, s.created_at, s.created_at + interval '4 ms', s.created_at + interval '7 ms', 3, 4
      FROM (
        SELECT r.g, md5(r.g::text || $4) AS h,
               CASE WHEN r.rt < $3 THEN $1::uuid ELSE md5('bench-tenant-' || (floor(r.rt * 100000)::int % 49))::uuid END AS tenant_id,
               CASE WHEN r.rt < $3 THEN (CASE WHEN r.rs < 0.5 THEN $2::uuid ELSE md5('bench-hot-script-' || floor(r.rs * 36)::int)::uuid END)
                    ELSE md5('bench-script-' || (floor(r.rt * 100000)::int % 49) || '-' || floor(r.rs * 10)::int)::uuid END AS script_id,
               CASE WHEN r.rst < 0.92 THEN 'completed' WHEN r.rst < 0.98 THEN 'failed' ELSE 'cancelled' END AS status,
               now() - r.rc * interval '90 days' AS created_at
          FROM (SELECT g, random() AS rt, random() AS rs, random() AS rst, random() AS rc FROM generate_series($5::int, $6::int) g) r
      ) s`;
  const seed = randomBytes(4).toString('hex');
  const chunk = 50_000;
  const ranges: [number, number][] = [];
  for (let from = 1; from <= spec.rows; from += chunk) ranges.push([from, Math.min(spec.rows, from + chunk - 1)]);
  let written = 0;
  let lastSaid = Date.now();
  const streams = Array.from({ length: 2 }, async () => {
    for (let range = ranges.shift(); range; range = ranges.shift()) {
      await ctx.stack.query(statement, [ctx.tenant.id, spec.hotScriptId, spec.benchTenantShare, seed, range[0], range[1]]);
      written += range[1] - range[0] + 1;
      if (Date.now() - lastSaid > 5000) {
        lastSaid = Date.now();
        say(`  seeded ${written.toLocaleString('en')} of ${spec.rows.toLocaleString('en')} history rows`);
      }
    }
  });
  await Promise.all(streams);
}

/** Pending runs with their jobs, spread like the history, created over the last ten minutes. */
export async function seedWaitingRuns(ctx: BenchContext, count: number, benchTenantShare: number, benchScriptId: string): Promise<void> {
  const chunk = 10_000;
  for (let done = 0; done < count; done += chunk) {
    const n = Math.min(chunk, count - done);
    const rows = await ctx.stack.query<{ id: string; tenant_id: string }>(
      `INSERT INTO executions (id, tenant_id, script_id, script_version, status, trigger, input, timeout_ms, memory_mb, created_at)
       SELECT (lpad(to_hex((extract(epoch FROM s.created_at) * 1000)::bigint), 12, '0') || '7' || substr(s.h, 1, 3) || '8' || substr(s.h, 4, 15))::uuid,
              s.tenant_id, s.script_id, 1, 'pending', '{"type":"api","bench":"seeded"}'::jsonb, '{"a":2,"b":3}'::jsonb, 30000, 64, s.created_at
         FROM (
           SELECT md5(r.g::text || random()::text) AS h,
                  CASE WHEN r.rt < $2 THEN $1::uuid ELSE md5('bench-tenant-' || (floor(r.rt * 100000)::int % 49))::uuid END AS tenant_id,
                  CASE WHEN r.rt < $2 THEN $3::uuid ELSE md5('bench-script-' || (floor(r.rt * 100000)::int % 49) || '-0')::uuid END AS script_id,
                  now() - random() * interval '10 minutes' AS created_at
             FROM (SELECT g, random() AS rt FROM generate_series(1, $4::int) g) r
         ) s
       RETURNING id::text, tenant_id::text`,
      [ctx.tenant.id, benchTenantShare, benchScriptId, n],
    );
    await addRunJobs(ctx, rows.map((r) => ({ id: r.id, tenantId: r.tenant_id })));
  }
}

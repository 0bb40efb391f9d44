import { Injectable } from '@nestjs/common';
import { GroupCommit, toPostgresJson, type ExecutionError, type ExecutionStatus, type ExecutionTrigger } from '@kiln/core';
import { Database } from './database';
import { Prisma, type Execution } from './generated/prisma/client';
import { OUTBOX_CTE, OUTBOX_IDS, outboxIds, outboxIdsOf, outboxStatement } from './webhook-outbox';

export type { Execution };

export interface LogEntry {
  level: string;
  message: string;
  time: string;
  meta?: unknown;
}

export interface NewExecution {
  id: string;
  tenantId: string;
  scriptId: string | null;
  scriptVersion: number | null;
  apiKeyId: string | null;
  trigger: ExecutionTrigger;
  input: unknown;
  metadata: unknown;
  webhookUrl: string | null;
  adhocSource: string | null;
  timeoutMs: number;
  memoryMb: number;
  retryOf?: string | null;
  chainDepth?: number;
  parentExecutionId?: string | null;
}

/** What a worker needs to run an execution, read in the same statement that claims it. */
export interface ClaimedExecution {
  id: string;
  tenantId: string;
  scriptId: string | null;
  scriptVersion: number | null;
  apiKeyId: string | null;
  trigger: ExecutionTrigger;
  input: unknown;
  metadata: unknown;
  adhocSource: string | null;
  source: string | null;
  envEnc: string | null;
  timeoutMs: number;
  memoryMb: number;
  attempts: number;
  approval: unknown;
  approvalStatus: string | null;
  approvalComment: string | null;
  chainDepth: number;
  createdAt: Date;
  startedAt: Date;
  queueWaitMs: number;
  /** Outbox rows this claim wrote (execution.started); enqueue them after commit. */
  webhookDeliveryIds: string[];
}

/** A script version's source the claiming worker already holds: the claim then does not read it again. */
export interface KnownSource {
  scriptId: string;
  version: number;
  source: string;
}

interface ClaimRequest {
  id: string;
  workerId: string;
  reclaimRunning: boolean;
  knownSource?: KnownSource;
}

export interface FinishedUpdate {
  status: Extract<ExecutionStatus, 'completed' | 'failed' | 'cancelled' | 'pending_approval'>;
  output?: unknown;
  error?: ExecutionError | null;
  logs: LogEntry[];
  logsTruncated: boolean;
  durationMs: number;
  approval?: unknown;
  /** Host calls of this run segment (ExecutionStep records), appended to the row's. */
  steps?: unknown[];
}

export interface FinishedExecution {
  id: string;
  tenantId: string;
  scriptId: string | null;
  status: ExecutionStatus;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** Outbox rows written with this status change; enqueue them after commit. */
  webhookDeliveryIds: string[];
}

/** A status change made by the gateway; null from the repository when nothing changed. */
export interface StatusChange {
  webhookDeliveryIds: string[];
}

export interface ExecutionFilter {
  scriptId?: string;
  /** One status, or any of several. */
  status?: ExecutionStatus | readonly ExecutionStatus[];
  from?: Date;
  to?: Date;
  /** true: completed with warnings only; false: everything else (see hasWarnings in @kiln/core). */
  hasWarnings?: boolean;
}

// hasWarnings (@kiln/core) as a query: completed, and a warn/error log line or a failed step.
const WARNING_SIGNS: Prisma.ExecutionWhereInput[] = [
  { logs: { array_contains: [{ level: 'warn' }] } },
  { logs: { array_contains: [{ level: 'error' }] } },
  { steps: { array_contains: [{ status: 'error' }] } },
];
/** Newest first; every list index ends in (created_at DESC, id). */
const LIST_ORDER: Prisma.ExecutionOrderByWithRelationInput[] = [{ createdAt: 'desc' }, { id: 'desc' }];
const WITH_WARNINGS: Prisma.ExecutionWhereInput = { status: 'completed', OR: WARNING_SIGNS };
// Spelled out rather than NOT(WITH_WARNINGS): a NULL logs or steps column would make NOT(...) NULL and drop the row.
const WITHOUT_WARNINGS: Prisma.ExecutionWhereInput = {
  OR: [
    { status: { not: 'completed' } },
    {
      AND: WARNING_SIGNS.map((sign) => {
        const column = Object.keys(sign)[0] as 'logs' | 'steps';
        return { OR: [{ [column]: { equals: Prisma.DbNull } }, { NOT: sign }] };
      }),
    },
  ],
};

export type ExecutionSummary = Pick<
  Execution,
  | 'id'
  | 'tenantId'
  | 'scriptId'
  | 'scriptVersion'
  | 'status'
  | 'trigger'
  | 'error'
  | 'attempts'
  | 'retryOf'
  | 'createdAt'
  | 'startedAt'
  | 'finishedAt'
  | 'durationMs'
  | 'queueWaitMs'
>;

// pg would turn a JS array into a PostgreSQL array; jsonb wants JSON text.
const jsonParam = (value: unknown): string | null => (value === undefined || value === null ? null : toPostgresJson(value));

const INSERT_COLUMNS = `id, tenant_id, script_id, script_version, api_key_id, status, trigger, input, metadata,
  webhook_url, adhoc_source, timeout_ms, memory_mb, retry_of, chain_depth, parent_execution_id`;

const INSERT_VALUES = `$1::uuid, $2::uuid, $3::uuid, $4::int, $5::uuid, 'pending', $6::jsonb, $7::jsonb, $8::jsonb,
  $9, $10, $11::int, $12::int, $13::uuid, $14::int, $15::uuid`;

function insertParams(e: NewExecution): unknown[] {
  return [
    e.id,
    e.tenantId,
    e.scriptId,
    e.scriptVersion,
    e.apiKeyId,
    jsonParam(e.trigger),
    jsonParam(e.input),
    jsonParam(e.metadata),
    e.webhookUrl,
    e.adhocSource,
    e.timeoutMs,
    e.memoryMb,
    e.retryOf ?? null,
    e.chainDepth ?? 0,
    e.parentExecutionId ?? null,
  ];
}

/**
 * Rows per group-commit statement, and statements of one kind in flight at
 * once. Each statement is one transaction; when it fails, its items are sent
 * again one at a time, so a row PostgreSQL refuses (or a deadlock between two
 * batches) fails only its own run, never the others that shared its batch.
 */
const GROUP = { maxBatch: 64, maxInFlight: 2, isolateFailures: true };

@Injectable()
export class ExecutionRepository {
  // The three statements every execution makes (insert, claim, finish) go
  // through group commit: alone they are sent at once, under load the ones
  // that arrive together share one statement, one round trip and one
  // transaction (see GroupCommit).
  private readonly inserts = new GroupCommit<NewExecution, Date>((items) => this.insertMany(items), GROUP);
  private readonly relaxedInserts = new GroupCommit<NewExecution, Date>((items) => this.insertMany(items, { durable: false }), GROUP);
  private readonly claims = new GroupCommit<ClaimRequest, ClaimedExecution | null>(async (items) => {
    const byWorker = new Map<string, ClaimRequest[]>();
    for (const item of items) byWorker.set(item.workerId, [...(byWorker.get(item.workerId) ?? []), item]);
    const claimed = new Map<string, ClaimedExecution>();
    for (const [workerId, requests] of byWorker) {
      const ids = requests.map((r) => r.id);
      const reclaimable = requests.filter((r) => r.reclaimRunning).map((r) => r.id);
      const known = new Map(requests.flatMap((r) => (r.knownSource ? [[r.id, r.knownSource] as const] : [])));
      for (const [id, row] of await this.claimMany(ids, workerId, reclaimable, known)) claimed.set(id, row);
    }
    return items.map((item) => claimed.get(item.id) ?? null);
  }, GROUP);
  private readonly finishes = new GroupCommit<{ id: string; update: FinishedUpdate }, FinishedExecution | null>(async (items) => {
    const finished = await this.finishMany(items);
    return items.map((item) => finished.get(item.id) ?? null);
  }, GROUP);

  constructor(private readonly db: Database) {}

  /** Inserts pending executions in one statement; returns each one's created_at, in order. */
  async insertMany(executions: readonly NewExecution[], options: { durable?: boolean } = {}): Promise<Date[]> {
    const column = <T>(pick: (e: NewExecution) => T) => executions.map(pick);
    const pool = options.durable === false ? this.db.relaxedPool : this.db.pool;
    const { rows } = await pool.query<{ id: string; created_at: Date }>(
      {
        name: 'kiln_execution_insert_many',
        text: `INSERT INTO executions (${INSERT_COLUMNS})
               SELECT v.id, v.tenant_id, v.script_id, v.script_version, v.api_key_id, 'pending', v.trigger::jsonb, v.input::jsonb,
                      v.metadata::jsonb, v.webhook_url, v.adhoc_source, v.timeout_ms, v.memory_mb, v.retry_of, v.chain_depth,
                      v.parent_execution_id
                 FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::int[], $5::uuid[], $6::text[], $7::text[], $8::text[],
                             $9::text[], $10::text[], $11::int[], $12::int[], $13::uuid[], $14::int[], $15::uuid[])
                   AS v(id, tenant_id, script_id, script_version, api_key_id, trigger, input, metadata, webhook_url, adhoc_source,
                        timeout_ms, memory_mb, retry_of, chain_depth, parent_execution_id)
               RETURNING id::text, created_at`,
        values: [
          column((e) => e.id),
          column((e) => e.tenantId),
          column((e) => e.scriptId),
          column((e) => e.scriptVersion),
          column((e) => e.apiKeyId),
          column((e) => jsonParam(e.trigger)),
          column((e) => jsonParam(e.input)),
          column((e) => jsonParam(e.metadata)),
          column((e) => e.webhookUrl),
          column((e) => e.adhocSource),
          column((e) => e.timeoutMs),
          column((e) => e.memoryMb),
          column((e) => e.retryOf ?? null),
          column((e) => e.chainDepth ?? 0),
          column((e) => e.parentExecutionId ?? null),
        ],
      },
    );
    const createdAt = new Map(rows.map((r) => [r.id, r.created_at]));
    return executions.map((e) => {
      const at = createdAt.get(e.id);
      if (!at) throw new Error(`execution ${e.id} was not inserted`);
      return at;
    });
  }

  /**
   * Inserts a pending execution in one statement. `durable: false` (only
   * without an idempotency key) commits without waiting for the WAL flush:
   * for a caller that answers only after a later durable commit, or after
   * confirmStatus(), never straight after this returns. With an idempotency key,
   * the key is claimed in the same statement: a live key returns the first
   * execution's id instead (`created: false`), an expired key is taken over.
   */
  async create(
    execution: NewExecution,
    idempotency?: { key: string; ttlMs: number },
    options: { durable?: boolean } = {},
  ): Promise<{ id: string; created: boolean; createdAt: Date }> {
    if (!idempotency) {
      const createdAt = await (options.durable === false ? this.relaxedInserts : this.inserts).submit(execution);
      return { id: execution.id, created: true, createdAt };
    }
    const params = [...insertParams(execution), idempotency.key, idempotency.ttlMs];
    const { rows } = await this.db.pool.query<{ claimed: string | null; created_at: Date | null }>(
      `WITH claim AS (
         INSERT INTO idempotency_keys (tenant_id, key, execution_id, expires_at, created_at)
         VALUES ($2::uuid, $16, $1::uuid, now() + ($17::int * interval '1 millisecond'), now())
         ON CONFLICT (tenant_id, key) DO UPDATE
           SET execution_id = EXCLUDED.execution_id, expires_at = EXCLUDED.expires_at, created_at = EXCLUDED.created_at
           WHERE idempotency_keys.expires_at <= now()
         RETURNING execution_id
       ), ins AS (
         INSERT INTO executions (${INSERT_COLUMNS})
         SELECT ${INSERT_VALUES} WHERE EXISTS (SELECT 1 FROM claim)
         RETURNING created_at
       )
       SELECT (SELECT execution_id FROM claim)::text AS claimed, (SELECT created_at FROM ins) AS created_at`,
      params,
    );
    const row = rows[0];
    if (row?.claimed && row.created_at) return { id: execution.id, created: true, createdAt: row.created_at };
    // Someone else holds the key. Read it in a new statement: a concurrent
    // winner that committed while we waited is invisible to our snapshot.
    const existing = await this.db.pool.query<{ execution_id: string; created_at: Date }>(
      `SELECT k.execution_id::text AS execution_id, k.created_at FROM idempotency_keys k WHERE k.tenant_id = $1::uuid AND k.key = $2`,
      [execution.tenantId, idempotency.key],
    );
    const hit = existing.rows[0];
    if (!hit) throw new Error('idempotency key vanished while being claimed');
    return { id: hit.execution_id, created: false, createdAt: hit.created_at };
  }

  /**
   * pending (or running, when a crashed worker's job comes back) → running,
   * returning everything the run needs. null: cancelled, already finished,
   * or running while `reclaimRunning` is false: a job on its first start
   * passes false, so a second job for the same execution (the reconciler
   * re-adding a run that waits in a batch job) never starts it twice.
   */
  async claim(
    id: string,
    workerId: string,
    options: { reclaimRunning: boolean; knownSource?: KnownSource } = { reclaimRunning: true },
  ): Promise<ClaimedExecution | null> {
    return this.claims.submit({ id, workerId, reclaimRunning: options.reclaimRunning, ...(options.knownSource ? { knownSource: options.knownSource } : {}) });
  }

  /**
   * claim() for many executions in one statement (one transaction): what the
   * worker's group commit sends when several runs start at once. Executions
   * that cannot be claimed are absent from the map.
   */
  async claimMany(
    ids: readonly string[],
    workerId: string,
    reclaimable: readonly string[] = ids,
    known: ReadonlyMap<string, KnownSource> = new Map(),
  ): Promise<Map<string, ClaimedExecution>> {
    const knownIds = [...known.keys()];
    // attempts becomes 1 on the first claim only: a re-claim after a worker
    // crash, or the continuation after an approval, starts nothing new, so
    // execution.started goes out once per execution.
    // Relaxed commit: a claim lost in a PostgreSQL crash leaves the row as it
    // was, the run's job fails on the dead connection and its retry claims it
    // again (outbox rows included); the finish, durable, flushes the claim.
    const { rows } = await this.db.relaxedPool.query<Record<string, unknown>>(
      outboxStatement(
        `WITH upd AS (
         UPDATE executions e
            SET status = 'running', started_at = now(), attempts = e.attempts + 1, worker_id = $2,
                queue_wait_ms = COALESCE(e.queue_wait_ms, GREATEST(0, (EXTRACT(EPOCH FROM (now() - e.created_at)) * 1000)::int))
          WHERE e.id = ANY($1::uuid[]) AND (e.status = 'pending' OR (e.status = 'running' AND e.id = ANY($3::uuid[])))
          RETURNING e.*, CASE WHEN e.attempts = 1 THEN 'execution.started' END AS webhook_event
       )${OUTBOX_CTE}
       SELECT e.id::text, e.tenant_id::text, e.script_id::text, e.script_version, e.api_key_id::text, e.trigger, e.input,
              e.metadata, e.adhoc_source, e.timeout_ms, e.memory_mb, e.attempts, e.approval, e.approval_status,
              e.approval_comment, e.chain_depth, e.created_at, e.started_at, e.queue_wait_ms,
              -- A source the worker holds is not read (nor detoasted): only whether its version still exists.
              CASE WHEN k.id IS NULL THEN v.source END AS source, v.script_id IS NOT NULL AS version_exists,
              (SELECT s.env_enc FROM scripts s WHERE s.id = e.script_id) AS env_enc,
              ${outboxIdsOf('e')}
         FROM upd e
         LEFT JOIN script_versions v ON v.script_id = e.script_id AND v.version = e.script_version
         LEFT JOIN unnest($4::uuid[], $5::uuid[], $6::int[]) AS k(id, script_id, version)
           ON k.id = e.id AND k.script_id = e.script_id AND k.version = e.script_version`,
        [ids, workerId, reclaimable, knownIds, knownIds.map((id) => known.get(id)?.scriptId), knownIds.map((id) => known.get(id)?.version)],
      ),
    );
    const claimed = new Map<string, ClaimedExecution>();
    for (const r of rows) {
      claimed.set(r.id as string, {
        id: r.id as string,
        tenantId: r.tenant_id as string,
        scriptId: (r.script_id as string | null) ?? null,
        scriptVersion: (r.script_version as number | null) ?? null,
        apiKeyId: (r.api_key_id as string | null) ?? null,
        trigger: r.trigger as ExecutionTrigger,
        input: r.input ?? null,
        metadata: r.metadata ?? null,
        adhocSource: (r.adhoc_source as string | null) ?? null,
        source: (r.source as string | null) ?? (r.version_exists ? (known.get(r.id as string)?.source ?? null) : null),
        envEnc: (r.env_enc as string | null) ?? null,
        timeoutMs: r.timeout_ms as number,
        memoryMb: r.memory_mb as number,
        attempts: r.attempts as number,
        approval: r.approval ?? null,
        approvalStatus: (r.approval_status as string | null) ?? null,
        approvalComment: (r.approval_comment as string | null) ?? null,
        chainDepth: r.chain_depth as number,
        createdAt: r.created_at as Date,
        startedAt: r.started_at as Date,
        queueWaitMs: r.queue_wait_ms as number,
        webhookDeliveryIds: outboxIds(r),
      });
    }
    return claimed;
  }

  /**
   * running → terminal (or pending_approval) in one statement. Returns null
   * when the row was no longer running (cancelled meanwhile): the first
   * recorded outcome wins, so completion is recorded at most once.
   */
  async finish(id: string, update: FinishedUpdate): Promise<FinishedExecution | null> {
    return this.finishes.submit({ id, update });
  }

  /** finish() for many executions in one statement (one transaction); rows no longer running are absent. */
  async finishMany(items: readonly { id: string; update: FinishedUpdate }[]): Promise<Map<string, FinishedExecution>> {
    const column = <T>(pick: (u: FinishedUpdate) => T) => items.map((item) => pick(item.update));
    const { rows } = await this.db.pool.query<Record<string, unknown>>(
      outboxStatement(
        `WITH v AS (
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bool[], $7::int[], $8::text[], $9::text[])
             AS v(id, status, output, error, logs, logs_truncated, duration_ms, approval, steps)
       ), upd AS (
         UPDATE executions e
            SET status = v.status::"ExecutionStatus", output = v.output::jsonb, error = v.error::jsonb,
                -- An approval continuation adds its logs to those of the run that asked for approval.
                logs = CASE WHEN e.approval_status = 'approved' THEN COALESCE(e.logs, '[]'::jsonb) || v.logs::jsonb ELSE v.logs::jsonb END,
                logs_truncated = CASE WHEN e.approval_status = 'approved' THEN e.logs_truncated OR v.logs_truncated ELSE v.logs_truncated END,
                duration_ms = v.duration_ms, approval = COALESCE(v.approval::jsonb, e.approval),
                steps = CASE WHEN v.steps IS NULL THEN e.steps ELSE COALESCE(e.steps, '[]'::jsonb) || v.steps::jsonb END,
                finished_at = CASE WHEN v.status = 'pending_approval' THEN NULL ELSE now() END
           FROM v
          WHERE e.id = v.id AND e.status = 'running'
          RETURNING e.*, 'execution.' || e.status::text AS webhook_event
       )${OUTBOX_CTE}
       SELECT id::text, tenant_id::text, script_id::text, status, started_at, finished_at, ${OUTBOX_IDS} FROM upd`,
        [
          items.map((item) => item.id),
          column((u) => u.status),
          column((u) => jsonParam(u.output)),
          column((u) => jsonParam(u.error)),
          column((u) => toPostgresJson(u.logs)),
          column((u) => u.logsTruncated),
          column((u) => u.durationMs),
          column((u) => jsonParam(u.approval)),
          // Appended: an approval continuation adds its steps to the first run's.
          column((u) => jsonParam(u.steps && u.steps.length > 0 ? u.steps : null)),
        ],
      ),
    );
    const finished = new Map<string, FinishedExecution>();
    for (const r of rows) {
      finished.set(r.id as string, {
        id: r.id as string,
        tenantId: r.tenant_id as string,
        scriptId: (r.script_id as string | null) ?? null,
        status: r.status as ExecutionStatus,
        startedAt: (r.started_at as Date | null) ?? null,
        finishedAt: (r.finished_at as Date | null) ?? null,
        webhookDeliveryIds: outboxIds(r),
      });
    }
    return finished;
  }

  /** Ends a non-terminal execution that can no longer run (retries exhausted after crashes). */
  /** `onlyRunning`: leave a pending row alone (it still has a job of its own that will run it). */
  async failIfUnfinished(id: string, error: ExecutionError, options: { onlyRunning?: boolean } = {}): Promise<FinishedExecution | null> {
    const { rows } = await this.db.pool.query<Record<string, unknown>>(
      outboxStatement(
        `WITH upd AS (
         UPDATE executions SET status = 'failed', error = $2::jsonb, finished_at = now(),
                duration_ms = CASE WHEN started_at IS NULL THEN NULL ELSE (EXTRACT(EPOCH FROM (now() - started_at)) * 1000)::int END
          WHERE id = $1::uuid AND status = ANY($3::"ExecutionStatus"[])
          RETURNING *, 'execution.failed' AS webhook_event
       )${OUTBOX_CTE}
       SELECT id::text, tenant_id::text, script_id::text, status, started_at, finished_at, ${OUTBOX_IDS} FROM upd`,
        [id, toPostgresJson(error), options.onlyRunning === true ? ['running'] : ['pending', 'running']],
      ),
    );
    const r = rows[0];
    return r
      ? {
          id: r.id as string,
          tenantId: r.tenant_id as string,
          scriptId: (r.script_id as string | null) ?? null,
          status: r.status as ExecutionStatus,
          startedAt: (r.started_at as Date | null) ?? null,
          finishedAt: (r.finished_at as Date | null) ?? null,
          webhookDeliveryIds: outboxIds(r),
        }
      : null;
  }

  /**
   * pending or pending_approval → cancelled; a worker's claim will then find
   * nothing to run.
   */
  async cancelIfWaiting(tenantId: string, id: string): Promise<StatusChange | null> {
    const { rows } = await this.db.pool.query<Record<string, unknown>>(
      outboxStatement(
        `WITH upd AS (
         UPDATE executions SET status = 'cancelled', finished_at = now(), error = NULL
          WHERE id = $1::uuid AND tenant_id = $2::uuid AND status IN ('pending', 'pending_approval')
          RETURNING *, 'execution.cancelled' AS webhook_event
       )${OUTBOX_CTE}
       SELECT ${OUTBOX_IDS} FROM upd`,
        [id, tenantId],
      ),
    );
    return rows[0] ? { webhookDeliveryIds: outboxIds(rows[0]) } : null;
  }

  /**
   * Pending executions older than `olderThanMs`, in (created_at, id) order
   * after a cursor: the reconciler walks them in pages to find any whose job
   * never reached the queue.
   */
  async pendingAfter(
    cursor: { createdAt: Date; id: string } | null,
    olderThanMs: number,
    limit: number,
  ): Promise<{ id: string; tenantId: string; scriptId: string | null; scriptVersion: number | null; approvalStatus: string | null; createdAt: Date }[]> {
    const { rows } = await this.db.pool.query<{
      id: string;
      tenant_id: string;
      script_id: string | null;
      script_version: number | null;
      approval_status: string | null;
      created_at: Date;
    }>(
      `SELECT id::text, tenant_id::text, script_id::text, script_version, approval_status, created_at FROM executions
        WHERE status = 'pending' AND created_at < now() - ($1::int * interval '1 millisecond')
          AND ($2::timestamptz IS NULL OR (created_at, id) > ($2::timestamptz, $3::uuid))
        ORDER BY created_at, id LIMIT $4`,
      [olderThanMs, cursor?.createdAt ?? null, cursor?.id ?? null, limit],
    );
    return rows.map((r) => ({
      id: r.id,
      tenantId: r.tenant_id,
      scriptId: r.script_id,
      scriptVersion: r.script_version,
      approvalStatus: r.approval_status,
      createdAt: r.created_at,
    }));
  }

  /**
   * Undoes an accepted-but-never-enqueued run (Redis refused the job), so the
   * client's retry with the same idempotency key starts afresh.
   */
  /**
   * The status of an execution read by a durable, row-locking no-op write:
   * once it returns, the row and everything committed before it are flushed
   * to disk. null: no such execution (a relaxed insert lost in a crash).
   */
  async confirmStatus(tenantId: string, id: string): Promise<ExecutionStatus | null> {
    const { rows } = await this.db.pool.query<{ status: ExecutionStatus }>({
      name: 'kiln_execution_confirm_status',
      text: 'UPDATE executions SET status = status WHERE id = $1::uuid AND tenant_id = $2::uuid RETURNING status',
      values: [id, tenantId],
    });
    return rows[0]?.status ?? null;
  }

  async deleteUnqueued(id: string): Promise<void> {
    await this.db.pool.query(
      `WITH gone AS (DELETE FROM executions WHERE id = $1::uuid AND status = 'pending' RETURNING id)
       DELETE FROM idempotency_keys WHERE execution_id IN (SELECT id FROM gone)`,
      [id],
    );
  }

  findById(tenantId: string | null, id: string): Promise<Execution | null> {
    return this.db.prisma.execution.findFirst({ where: { id, ...(tenantId ? { tenantId } : {}) } });
  }

  /**
   * One page of a tenant's executions, newest first, and how many match.
   * Counting is the part that grows with the data (every matching index
   * entry is visited), so `countUpTo` bounds it: past that many matches,
   * `total` is the bound and `totalExact` false. Without it the count is exact.
   */
  async list(
    tenantId: string,
    filter: ExecutionFilter,
    page: { limit: number; offset: number },
    options: { countUpTo?: number } = {},
  ): Promise<{ items: ExecutionSummary[]; total: number; totalExact: boolean }> {
    const where: Prisma.ExecutionWhereInput = {
      tenantId,
      ...(filter.scriptId ? { scriptId: filter.scriptId } : {}),
      ...(typeof filter.status === 'string' ? { status: filter.status } : filter.status ? { status: { in: [...filter.status] } } : {}),
      ...(filter.hasWarnings === undefined ? {} : { AND: [filter.hasWarnings ? WITH_WARNINGS : WITHOUT_WARNINGS] }),
      ...(filter.from || filter.to ? { createdAt: { ...(filter.from ? { gte: filter.from } : {}), ...(filter.to ? { lte: filter.to } : {}) } } : {}),
    };
    const [items, counted] = await Promise.all([
      this.db.prisma.execution.findMany({
        where,
        orderBy: LIST_ORDER,
        take: page.limit,
        skip: page.offset,
        select: {
          id: true,
          tenantId: true,
          scriptId: true,
          scriptVersion: true,
          status: true,
          trigger: true,
          error: true,
          attempts: true,
          retryOf: true,
          createdAt: true,
          startedAt: true,
          finishedAt: true,
          durationMs: true,
          queueWaitMs: true,
        },
      }),
      // A bounded count needs an order (Prisma adds ORDER BY id otherwise, which sorts every match): the page's, which the indexes serve.
      this.db.prisma.execution.count({ where, ...(options.countUpTo === undefined ? {} : { orderBy: LIST_ORDER, take: options.countUpTo + 1 }) }),
    ]);
    const cap = options.countUpTo;
    if (cap !== undefined && counted > cap) return { items, total: cap, totalExact: false };
    return { items, total: counted, totalExact: true };
  }

  /** Which of these executions completed with warnings (see hasWarnings in @kiln/core). */
  async withWarnings(tenantId: string, ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.db.prisma.execution.findMany({ where: { tenantId, id: { in: [...ids] }, ...WITH_WARNINGS }, select: { id: true } });
    return new Set(rows.map((r) => r.id));
  }

  /** Marks an approval decision; only a pending_approval execution can take one. */
  async decideApproval(
    tenantId: string,
    id: string,
    decision: 'approved' | 'rejected',
    comment: string | null,
  ): Promise<(StatusChange & { scriptId: string | null; scriptVersion: number | null }) | null> {
    // Approval sends the execution back to the queue (no event: it is not
    // finished); rejection ends it, which subscribers hear as execution.cancelled.
    const { rows } = await this.db.pool.query<Record<string, unknown>>(
      outboxStatement(
        decision === 'approved'
        ? `UPDATE executions SET status = 'pending', approval_status = 'approved', approval_comment = $3
            WHERE id = $1::uuid AND tenant_id = $2::uuid AND status = 'pending_approval'
            RETURNING '{}'::text[] AS webhook_delivery_ids, script_id::text, script_version`
        : `WITH upd AS (
             UPDATE executions SET status = 'cancelled', approval_status = 'rejected', approval_comment = $3, finished_at = now()
              WHERE id = $1::uuid AND tenant_id = $2::uuid AND status = 'pending_approval'
              RETURNING *, 'execution.cancelled' AS webhook_event
           )${OUTBOX_CTE}
           SELECT ${OUTBOX_IDS}, script_id::text, script_version FROM upd`,
        [id, tenantId, comment],
      ),
    );
    const row = rows[0];
    if (!row) return null;
    return { webhookDeliveryIds: outboxIds(row), scriptId: (row.script_id as string | null) ?? null, scriptVersion: (row.script_version as number | null) ?? null };
  }
}

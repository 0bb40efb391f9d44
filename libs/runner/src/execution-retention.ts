import { Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { KilnConfig } from '@kiln/config';
import { Database } from '@kiln/db';
import type { Logger } from '@kiln/observability';
import { InjectConfig, InjectLogger, InjectRedis } from '@kiln/platform';
import { ClusterLock } from '@kiln/queue';
import type { Redis } from 'ioredis';

export interface RetentionTuning {
  /** Rows per DELETE statement: each is its own short transaction. */
  batchSize: number;
  /** Pause between two batches, so the purge yields to the hot path. */
  pauseMs: number;
  /** Time between two passes (a pass ends when nothing old is left). */
  intervalMs: number;
  /** First pass this long after start-up (plus up to 1 s of jitter). */
  firstDelayMs: number;
  /** The cluster-wide lock expires after this if its holder dies; renewed after every batch. */
  lockTtlMs: number;
}

// About 4,000 rows/s at most (one short statement, then twice its time or
// more at rest): 14 M rows an hour, and the hot path keeps most of the machine.
export const DEFAULT_RETENTION_TUNING: RetentionTuning = {
  batchSize: 500,
  pauseMs: 100,
  intervalMs: 5 * 60_000,
  firstDelayMs: 5000,
  lockTtlMs: 60_000,
};

export interface PurgeReport {
  outcome: 'purged' | 'disabled' | 'locked' | 'lock-lost' | 'stopped';
  executions: number;
  /** Finished webhook deliveries (their attempts go with them). */
  webhookDeliveries: number;
  idempotencyKeys: number;
  batches: number;
  durationMs: number;
}

/** Terminal statuses: pending, running and pending_approval executions are never purged. */
const FINISHED_STATUSES = ['completed', 'failed', 'cancelled'] as const;

/**
 * KILN_EXECUTION_RETENTION_DAYS: deletes finished executions older than N
 * days (by created_at), finished webhook deliveries as old (with their
 * attempts: a delivery's payload is its execution's outcome), and expired
 * idempotency keys, in the background of
 * the worker app. One worker at a time (a Redis lock with a TTL); small
 * batches in their own transactions with a pause in between, walking the
 * (status, created_at) index from the oldest row with a cursor, so that
 * each batch is an index range scan and rows someone holds a lock on are
 * skipped rather than waited for: writes on the hot path never queue behind
 * the purge.
 */
@Injectable()
export class ExecutionRetention implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly tuning: RetentionTuning = { ...DEFAULT_RETENTION_TUNING };
  private timer: NodeJS.Timeout | null = null;
  private current: Promise<PurgeReport> | null = null;
  private stopping = false;
  private readonly lockKey: string;

  constructor(
    @InjectConfig() private readonly config: KilnConfig,
    @InjectLogger() private readonly logger: Logger,
    private readonly db: Database,
    @InjectRedis() private readonly redis: Redis,
  ) {
    this.lockKey = `${config.redis.prefix}:retention:lock`;
  }

  get days(): number {
    return this.config.retention.executionDays;
  }

  onApplicationBootstrap(): void {
    if (this.days <= 0) return;
    this.logger.info({ days: this.days }, 'execution retention on: finished executions older than this are purged in the background');
    this.schedule(this.tuning.firstDelayMs + Math.floor(Math.random() * 1000));
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    await this.current?.catch(() => undefined);
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.current = this.purgeOnce();
      this.current
        .catch((err: unknown) => {
          this.logger.error({ err }, 'execution retention pass failed; next pass at the usual interval');
        })
        .finally(() => {
          this.current = null;
          if (!this.stopping) this.schedule(this.tuning.intervalMs);
        });
    }, delayMs);
    this.timer.unref();
  }

  /** One pass: everything old goes, batch by batch, unless another worker holds the lock. */
  async purgeOnce(overrides: Partial<RetentionTuning> = {}): Promise<PurgeReport> {
    const tuning = { ...this.tuning, ...overrides };
    const started = Date.now();
    const report: PurgeReport = { outcome: 'purged', executions: 0, webhookDeliveries: 0, idempotencyKeys: 0, batches: 0, durationMs: 0 };
    if (this.days <= 0) return { ...report, outcome: 'disabled' };
    const lock = new ClusterLock(this.redis, this.lockKey, tuning.lockTtlMs);
    if (!(await lock.acquire())) return { ...report, outcome: 'locked' };
    try {
      const { rows } = await this.db.pool.query<{ cutoff: Date }>('SELECT now() - make_interval(days => $1::int) AS cutoff', [this.days]);
      const cutoff = (rows[0] as { cutoff: Date }).cutoff;
      for (const status of FINISHED_STATUSES) {
        const outcome = await this.drain(tuning, lock, report, (cursor) => this.deleteExecutions(status, cutoff, cursor, tuning.batchSize), 'executions');
        if (outcome) return { ...report, outcome, durationMs: Date.now() - started };
      }
      const steps = [
        { counter: 'webhookDeliveries' as const, batch: (cursor: Date | null) => this.deleteDeliveries(cutoff, cursor, tuning.batchSize) },
        { counter: 'idempotencyKeys' as const, batch: (cursor: Date | null) => this.deleteExpiredKeys(cursor, tuning.batchSize) },
      ];
      for (const { counter, batch } of steps) {
        const outcome = await this.drain(tuning, lock, report, batch, counter);
        if (outcome) return { ...report, outcome, durationMs: Date.now() - started };
      }
      return { ...report, durationMs: Date.now() - started };
    } finally {
      await lock.release().catch(() => undefined);
      report.durationMs = Date.now() - started;
      if (report.executions + report.webhookDeliveries + report.idempotencyKeys > 0) {
        this.logger.info(
          {
            days: this.days,
            executions: report.executions,
            webhookDeliveries: report.webhookDeliveries,
            idempotencyKeys: report.idempotencyKeys,
            batches: report.batches,
            durationMs: report.durationMs,
          },
          'execution retention: purged old rows',
        );
      }
    }
  }

  /** Runs batches until one comes back short; null when done, otherwise why it stopped early. */
  private async drain(
    tuning: RetentionTuning,
    lock: ClusterLock,
    report: PurgeReport,
    batch: (cursor: Date | null) => Promise<{ deleted: number; last: Date | null }>,
    counter: 'executions' | 'webhookDeliveries' | 'idempotencyKeys',
  ): Promise<PurgeReport['outcome'] | null> {
    let cursor: Date | null = null;
    for (;;) {
      if (this.stopping) return 'stopped';
      const { deleted, last } = await batch(cursor);
      report[counter] += deleted;
      report.batches += 1;
      if (deleted < tuning.batchSize) return null;
      cursor = last;
      if (!(await lock.renew())) return 'lock-lost';
      if (tuning.pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, tuning.pauseMs));
    }
  }

  private deleteExecutions(status: string, cutoff: Date, cursor: Date | null, limit: number): Promise<{ deleted: number; last: Date | null }> {
    return this.deleteOldest({ table: 'executions', keys: ['id'], age: 'created_at', where: `status = $3::"ExecutionStatus" AND created_at < $4::timestamptz` }, cursor, limit, [status, cutoff]);
  }

  // Pending deliveries (still being retried) stay whatever their age; the cursor steps past them within a pass.
  private deleteDeliveries(cutoff: Date, cursor: Date | null, limit: number): Promise<{ deleted: number; last: Date | null }> {
    return this.deleteOldest({ table: 'webhook_deliveries', keys: ['id'], age: 'created_at', where: `created_at < $3::timestamptz AND status <> 'pending'` }, cursor, limit, [cutoff]);
  }

  private deleteExpiredKeys(cursor: Date | null, limit: number): Promise<{ deleted: number; last: Date | null }> {
    return this.deleteOldest({ table: 'idempotency_keys', keys: ['tenant_id', 'key'], age: 'expires_at', where: 'expires_at < now()' }, cursor, limit, []);
  }

  /**
   * One batch: the `limit` oldest rows (by `age`, from `cursor` on) that match
   * `where` and nobody holds a lock on. The cursor (the newest age of the
   * previous batch) lets each batch start its index scan where the last one
   * ended instead of stepping over the dead index entries the earlier
   * batches left behind. `where` takes its own parameters from $3 on.
   */
  private async deleteOldest(
    target: { table: string; keys: string[]; age: string; where: string },
    cursor: Date | null,
    limit: number,
    params: unknown[],
  ): Promise<{ deleted: number; last: Date | null }> {
    const { table, keys, age, where } = target;
    const { rows } = await this.db.pool.query<{ deleted: number; last: Date | null }>(
      `WITH doomed AS (
         SELECT ${keys.join(', ')} FROM ${table}
          WHERE ${age} >= COALESCE($1::timestamptz, '-infinity') AND ${where}
          ORDER BY ${age}
          LIMIT $2
          FOR UPDATE SKIP LOCKED
       ), gone AS (
         DELETE FROM ${table} t USING doomed d WHERE ${keys.map((k) => `t.${k} = d.${k}`).join(' AND ')} RETURNING t.${age} AS age
       )
       SELECT count(*)::int AS deleted, max(age) AS last FROM gone`,
      [cursor, limit, ...params],
    );
    return rows[0] ?? { deleted: 0, last: null };
  }
}

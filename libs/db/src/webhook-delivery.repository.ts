import { Injectable } from '@nestjs/common';
import { GroupCommit } from '@kiln/core';
import { Database } from './database';
import type { Prisma, WebhookAttempt, WebhookDelivery } from './generated/prisma/client';
import { outboxStatement } from './webhook-outbox';

export type { WebhookAttempt, WebhookDelivery };

export type WebhookDeliverySource = 'subscription' | 'api_key' | 'run';
export type WebhookDeliveryStatus = 'pending' | 'succeeded' | 'failed';
export type WebhookDeliveryWithAttempts = WebhookDelivery & { attemptsLog: WebhookAttempt[] };

/** Everything the notifier needs for one attempt, read in one statement. */
export interface DeliveryForSending {
  id: string;
  tenantId: string;
  source: WebhookDeliverySource;
  subscriptionId: string | null;
  apiKeyId: string | null;
  executionId: string;
  event: string;
  /** The URL recorded with the event (the run's webhookUrl for source `run`). */
  url: string;
  messageId: string;
  payload: unknown;
  status: WebhookDeliveryStatus;
  attempts: number;
  retryBase: number;
  nextAttemptAt: Date | null;
  /** The destination as it is now: a subscription's or key's current URL and secret. */
  target: {
    /** false: the subscription was deleted, or the key revoked or its webhook removed. */
    exists: boolean;
    active: boolean;
    url: string | null;
    secretEnc: string | null;
  };
  /** The execution's output, when the outbox row deferred it for size. */
  deferredOutput: unknown;
}

export interface AttemptRecord {
  deliveryId: string;
  /** Attempts the delivery had when this one was sent; the write only lands if it still has them. */
  expectedAttempts: number;
  url: string;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  /** The delivery's status after this attempt. */
  status: WebhookDeliveryStatus;
  nextAttemptAt: Date | null;
  /** Set when the answer asks us to stop (410 Gone): the subscription is disabled with this reason. */
  disableSubscriptionReason: string | null;
}

export interface RelayCandidate {
  id: string;
  attempts: number;
  nextAttemptAt: Date | null;
}

export interface DeliveryFilter {
  subscriptionId?: string;
  executionId?: string;
  source?: WebhookDeliverySource;
  status?: WebhookDeliveryStatus;
}

/** Rows per group-commit statement, and statements of one kind in flight at once; a failed batch is sent again item by item. */
const GROUP = { maxBatch: 64, maxInFlight: 2, isolateFailures: true };

/**
 * Outbox rows (`webhook_deliveries`) and their attempt log. The notifier's
 * writes are conditional on the attempt count it read, so two copies of one
 * job (a stalled job re-run, a relayed duplicate) can never both record.
 */
@Injectable()
export class WebhookDeliveryRepository {
  // The notifier's two statements per attempt (load the row, record the
  // attempt) go through group commit: alone they are sent at once; the
  // attempts in flight together share a statement, a round trip and a
  // transaction. A batch that fails is retried item by item, so one bad
  // record (or a deadlock with another notifier) fails only its own job.
  private readonly loads = new GroupCommit<string, DeliveryForSending | null>(async (ids) => {
    const loaded = await this.loadManyForSending(ids);
    return ids.map((id) => loaded.get(id) ?? null);
  }, GROUP);
  private readonly records = new GroupCommit<AttemptRecord, boolean>((records) => this.recordAttempts(records), GROUP);

  constructor(private readonly db: Database) {}

  async loadForSending(id: string): Promise<DeliveryForSending | null> {
    return this.loads.submit(id);
  }

  /** loadForSending() for many deliveries in one statement; ids not found are absent from the map. */
  async loadManyForSending(ids: readonly string[]): Promise<Map<string, DeliveryForSending>> {
    // Prepared (outboxStatement): this and recordAttempts run for every attempt.
    const { rows } = await this.db.pool.query<Record<string, unknown>>(
      outboxStatement(
        `SELECT d.id::text, d.tenant_id::text, d.source, d.subscription_id::text, d.api_key_id::text, d.execution_id::text, d.event,
              d.url, d.message_id, d.payload, d.status::text, d.attempts, d.retry_base, d.next_attempt_at,
              s.id IS NOT NULL AS sub_exists, s.active AS sub_active, s.url AS sub_url, s.secret_enc AS sub_secret,
              k.id IS NOT NULL AND k.revoked_at IS NULL AND k.webhook_url IS NOT NULL AS key_exists,
              k.webhook_url AS key_url, k.webhook_secret_enc AS key_secret,
              t.webhook_secret_enc AS tenant_secret,
              CASE WHEN d.payload->'data' ? 'outputDeferred'
                   THEN (SELECT e.output FROM executions e WHERE e.id = d.execution_id) END AS deferred_output
         FROM webhook_deliveries d
         JOIN tenants t ON t.id = d.tenant_id
         LEFT JOIN webhook_subscriptions s ON s.id = d.subscription_id
         LEFT JOIN api_keys k ON k.id = d.api_key_id
        WHERE d.id = ANY($1::uuid[])`,
        [ids],
      ),
    );
    return new Map(rows.map((r) => [r.id as string, toDeliveryForSending(r)]));
  }

  /**
   * One attempt: the attempt row, the delivery's new state and, for a 410,
   * the subscription's disabling, in one statement (shared with the attempts
   * recorded at the same moment). false: another copy of the job already
   * recorded this attempt (nothing was written).
   */
  async recordAttempt(record: AttemptRecord): Promise<boolean> {
    return this.records.submit(record);
  }

  /**
   * recordAttempt() for many attempts in one statement (one transaction);
   * one result per record, in order. Of two records for the same attempt of
   * one delivery (two copies of a job), only one is written.
   */
  async recordAttempts(records: readonly AttemptRecord[]): Promise<boolean[]> {
    const column = <T>(pick: (r: AttemptRecord) => T) => records.map(pick);
    const { rows } = await this.db.pool.query<{ ord: number }>(
      outboxStatement(
        `WITH v AS (
         -- Two copies of one attempt (same delivery, same count): the first one only, as one at a time would.
         SELECT DISTINCT ON (id, expected) *
           FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::int[], $6::text[], $7::timestamptz[], $8::int[], $9::text[])
                WITH ORDINALITY AS v(id, expected, status, url, status_code, error, next_attempt_at, latency_ms, disable_reason, ord)
          ORDER BY id, expected, ord
       ), d AS (
         UPDATE webhook_deliveries w
            SET attempts = w.attempts + 1, status = v.status::"DeliveryStatus", url = v.url, last_status_code = v.status_code,
                last_error = v.error, next_attempt_at = v.next_attempt_at,
                enqueued_at = CASE WHEN v.status = 'pending' THEN now() ELSE w.enqueued_at END,
                completed_at = CASE WHEN v.status = 'pending' THEN NULL ELSE now() END
           FROM v
          WHERE w.id = v.id AND w.status = 'pending' AND w.attempts = v.expected
          RETURNING v.ord, w.id, w.subscription_id, w.attempts, v.status_code, v.latency_ms, v.error, v.disable_reason
       ), a AS (
         INSERT INTO webhook_attempts (id, delivery_id, attempt, status_code, latency_ms, error, created_at)
         SELECT gen_random_uuid(), d.id, d.attempts, d.status_code, d.latency_ms, d.error, now() FROM d
       ), s AS (
         UPDATE webhook_subscriptions sub
            SET active = false, disabled_at = now(), disabled_reason = d.disable_reason, updated_at = now()
           FROM d
          WHERE d.disable_reason IS NOT NULL AND sub.active AND sub.id = d.subscription_id
       )
       SELECT ord::int FROM d`,
        [
          column((r) => r.deliveryId),
          column((r) => r.expectedAttempts),
          column((r) => r.status),
          column((r) => r.url),
          column((r) => r.statusCode),
          column((r) => r.error),
          column((r) => r.nextAttemptAt?.toISOString() ?? null),
          column((r) => Math.max(0, Math.round(r.latencyMs))),
          column((r) => r.disableSubscriptionReason),
        ],
      ),
    );
    const recorded = new Set(rows.map((r) => r.ord));
    return records.map((_, i) => recorded.has(i + 1));
  }

  /** Ends a delivery without sending it (its subscription is gone or disabled). */
  async abandon(deliveryId: string, expectedAttempts: number, reason: string): Promise<boolean> {
    const { rowCount } = await this.db.pool.query(
      `UPDATE webhook_deliveries SET status = 'failed', last_error = $3, completed_at = now(), next_attempt_at = NULL
        WHERE id = $1::uuid AND status = 'pending' AND attempts = $2::int`,
      [deliveryId, expectedAttempts, reason],
    );
    return (rowCount ?? 0) > 0;
  }

  /** The destination's breaker is open: the attempt moves, uncounted, and says why. */
  async defer(deliveryId: string, expectedAttempts: number, nextAttemptAt: Date, reason: string): Promise<void> {
    await this.db.pool.query(
      `UPDATE webhook_deliveries SET next_attempt_at = $3::timestamptz, last_error = $4, enqueued_at = now()
        WHERE id = $1::uuid AND status = 'pending' AND attempts = $2::int`,
      [deliveryId, expectedAttempts, nextAttemptAt, reason],
    );
  }

  /**
   * Pending rows that may have no job: never marked enqueued `lostAfterMs`
   * after they became due (the process died between commit and enqueue), or
   * overdue by `stuckAfterMs` with no sign of life (a job lost from Redis).
   */
  async relayCandidates(lostAfterMs: number, stuckAfterMs: number, limit: number): Promise<RelayCandidate[]> {
    const { rows } = await this.db.pool.query<{ id: string; attempts: number; next_attempt_at: Date | null }>(
      `SELECT id::text, attempts, next_attempt_at
         FROM webhook_deliveries
        WHERE status = 'pending'
          AND ((enqueued_at IS NULL AND COALESCE(next_attempt_at, created_at) < now() - $1::int * interval '1 millisecond')
            OR (enqueued_at < now() - $2::int * interval '1 millisecond'
                AND COALESCE(next_attempt_at, created_at) < now() - $2::int * interval '1 millisecond'))
        ORDER BY created_at
        LIMIT $3::int`,
      [lostAfterMs, stuckAfterMs, limit],
    );
    return rows.map((r) => ({ id: r.id, attempts: r.attempts, nextAttemptAt: r.next_attempt_at }));
  }

  async markEnqueued(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.pool.query(`UPDATE webhook_deliveries SET enqueued_at = now() WHERE id = ANY($1::uuid[]) AND status = 'pending'`, [ids]);
  }

  // ---- API side ----------------------------------------------------------

  /**
   * One page of a tenant's deliveries, newest first, and how many match:
   * exactly, or with `countUpTo` at most that many (`totalExact` false past
   * it), since an exact count visits every matching row.
   */
  async list(
    tenantId: string,
    filter: DeliveryFilter,
    page: { limit: number; offset: number },
    options: { countUpTo?: number } = {},
  ): Promise<{ items: WebhookDeliveryWithAttempts[]; total: number; totalExact: boolean }> {
    const where: Prisma.WebhookDeliveryWhereInput = {
      tenantId,
      ...(filter.subscriptionId ? { subscriptionId: filter.subscriptionId } : {}),
      ...(filter.executionId ? { executionId: filter.executionId } : {}),
      ...(filter.source ? { source: filter.source } : {}),
      ...(filter.status ? { status: filter.status } : {}),
    };
    const orderBy: Prisma.WebhookDeliveryOrderByWithRelationInput[] = [{ createdAt: 'desc' }, { id: 'desc' }];
    const cap = options.countUpTo;
    const [items, counted] = await this.db.prisma.$transaction([
      this.db.prisma.webhookDelivery.findMany({
        where,
        include: { attemptsLog: { orderBy: { attempt: 'asc' } } },
        orderBy,
        take: page.limit,
        skip: page.offset,
      }),
      // Bounded in the page's own order, which the (tenant_id, created_at) indexes serve: without it Prisma orders by id, a sort of every match.
      this.db.prisma.webhookDelivery.count({ where, ...(cap === undefined ? {} : { orderBy, take: cap + 1 }) }),
    ]);
    if (cap !== undefined && counted > cap) return { items, total: cap, totalExact: false };
    return { items, total: counted, totalExact: true };
  }

  findById(tenantId: string, id: string): Promise<WebhookDeliveryWithAttempts | null> {
    return this.db.prisma.webhookDelivery.findFirst({
      where: { id, tenantId },
      include: { attemptsLog: { orderBy: { attempt: 'asc' } } },
    });
  }

  /**
   * A finished delivery (failed or succeeded) goes back to pending with a
   * fresh retry schedule; its `webhook-id` stays. null: not found or still
   * pending. Left un-enqueued, so the relay sends it should the caller's
   * enqueue not happen.
   */
  async redeliver(tenantId: string, id: string): Promise<RelayCandidate | null> {
    const { rows } = await this.db.pool.query<{ id: string; attempts: number }>(
      `UPDATE webhook_deliveries
          SET status = 'pending', retry_base = attempts, next_attempt_at = now(), completed_at = NULL, enqueued_at = NULL
        WHERE id = $1::uuid AND tenant_id = $2::uuid AND status <> 'pending'
        RETURNING id::text, attempts`,
      [id, tenantId],
    );
    const r = rows[0];
    return r ? { id: r.id, attempts: r.attempts, nextAttemptAt: null } : null;
  }

  /** Every failed delivery of a subscription created at or after `since`, back to pending (at most `limit`). */
  async replayFailed(tenantId: string, subscriptionId: string, since: Date, until: Date | null, limit: number): Promise<RelayCandidate[]> {
    const { rows } = await this.db.pool.query<{ id: string; attempts: number }>(
      `UPDATE webhook_deliveries
          SET status = 'pending', retry_base = attempts, next_attempt_at = now(), completed_at = NULL, enqueued_at = NULL
        WHERE id IN (SELECT id FROM webhook_deliveries
                      WHERE tenant_id = $1::uuid AND subscription_id = $2::uuid AND status = 'failed'
                        AND created_at >= $3::timestamptz AND ($4::timestamptz IS NULL OR created_at <= $4::timestamptz)
                      ORDER BY created_at LIMIT $5::int)
          AND status = 'failed'
        RETURNING id::text, attempts`,
      [tenantId, subscriptionId, since, until, limit],
    );
    return rows.map((r) => ({ id: r.id, attempts: r.attempts, nextAttemptAt: null }));
  }
}

function toDeliveryForSending(r: Record<string, unknown>): DeliveryForSending {
  const source = r.source as WebhookDeliverySource;
  const target =
    source === 'subscription'
      ? { exists: r.sub_exists === true, active: r.sub_active === true, url: str(r.sub_url), secretEnc: str(r.sub_secret) }
      : source === 'api_key'
        ? { exists: r.key_exists === true, active: true, url: str(r.key_url), secretEnc: str(r.key_secret) }
        : { exists: true, active: true, url: r.url as string, secretEnc: str(r.tenant_secret) };
  return {
    id: r.id as string,
    tenantId: r.tenant_id as string,
    source,
    subscriptionId: str(r.subscription_id),
    apiKeyId: str(r.api_key_id),
    executionId: r.execution_id as string,
    event: r.event as string,
    url: r.url as string,
    messageId: r.message_id as string,
    payload: r.payload,
    status: r.status as WebhookDeliveryStatus,
    attempts: r.attempts as number,
    retryBase: r.retry_base as number,
    nextAttemptAt: (r.next_attempt_at as Date | null) ?? null,
    target,
    deferredOutput: r.deferred_output ?? null,
  };
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

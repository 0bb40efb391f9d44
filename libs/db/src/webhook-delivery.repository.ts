import { Injectable } from '@nestjs/common';
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

/**
 * Outbox rows (`webhook_deliveries`) and their attempt log. The notifier's
 * writes are conditional on the attempt count it read, so two copies of one
 * job (a stalled job re-run, a relayed duplicate) can never both record.
 */
@Injectable()
export class WebhookDeliveryRepository {
  constructor(private readonly db: Database) {}

  async loadForSending(id: string): Promise<DeliveryForSending | null> {
    // Prepared (outboxStatement): this and recordAttempt run for every attempt.
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
        WHERE d.id = $1::uuid`,
        [id],
      ),
    );
    const r = rows[0];
    if (!r) return null;
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

  /**
   * One attempt, in one statement: the attempt row, the delivery's new state
   * and, for a 410, the subscription's disabling. false: another copy of the
   * job already recorded this attempt (nothing was written).
   */
  async recordAttempt(record: AttemptRecord): Promise<boolean> {
    const { rows } = await this.db.pool.query<{ recorded: boolean }>(
      outboxStatement(
        `WITH d AS (
         UPDATE webhook_deliveries
            SET attempts = attempts + 1, status = $3::"DeliveryStatus", url = $4, last_status_code = $5::int, last_error = $6,
                next_attempt_at = $7::timestamptz,
                enqueued_at = CASE WHEN $3 = 'pending' THEN now() ELSE enqueued_at END,
                completed_at = CASE WHEN $3 = 'pending' THEN NULL ELSE now() END
          WHERE id = $1::uuid AND status = 'pending' AND attempts = $2::int
          RETURNING id, subscription_id, attempts
       ), a AS (
         INSERT INTO webhook_attempts (id, delivery_id, attempt, status_code, latency_ms, error, created_at)
         SELECT gen_random_uuid(), d.id, d.attempts, $5::int, $8::int, $6, now() FROM d
       ), s AS (
         UPDATE webhook_subscriptions
            SET active = false, disabled_at = now(), disabled_reason = $9, updated_at = now()
          WHERE $9::text IS NOT NULL AND active AND id = (SELECT subscription_id FROM d)
       )
       SELECT EXISTS (SELECT 1 FROM d) AS recorded`,
        [
          record.deliveryId,
          record.expectedAttempts,
          record.status,
          record.url,
          record.statusCode,
          record.error,
          record.nextAttemptAt,
          Math.max(0, Math.round(record.latencyMs)),
          record.disableSubscriptionReason,
        ],
      ),
    );
    return rows[0]?.recorded === true;
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

  async list(
    tenantId: string,
    filter: DeliveryFilter,
    page: { limit: number; offset: number },
  ): Promise<{ items: WebhookDeliveryWithAttempts[]; total: number }> {
    const where: Prisma.WebhookDeliveryWhereInput = {
      tenantId,
      ...(filter.subscriptionId ? { subscriptionId: filter.subscriptionId } : {}),
      ...(filter.executionId ? { executionId: filter.executionId } : {}),
      ...(filter.source ? { source: filter.source } : {}),
      ...(filter.status ? { status: filter.status } : {}),
    };
    const [items, total] = await this.db.prisma.$transaction([
      this.db.prisma.webhookDelivery.findMany({
        where,
        include: { attemptsLog: { orderBy: { attempt: 'asc' } } },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: page.limit,
        skip: page.offset,
      }),
      this.db.prisma.webhookDelivery.count({ where }),
    ]);
    return { items, total };
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

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

import type { SecretBox } from '@kiln/core';
import type { DeliveryForSending, WebhookDeliveryRepository, WebhookDeliveryStatus } from '@kiln/db';
import type { Logger } from '@kiln/observability';
import { OutboundError, type OutboundClient } from '@kiln/outbound';
import type { WebhookDeliverPayload, WebhookQueue } from '@kiln/queue';
import { classifyResponse, nextRetryDelay, type DeliveryAttemptResult } from '@kiln/webhooks';
import { buildDeliveryRequest } from './delivery-request';
import type { DeliveryMetrics } from './delivery-metrics';
import { BreakerOpenError, HostBreakers, HostFailure } from './host-breakers';

export interface DeliverySettings {
  /** Waits before each retry (ms), e.g. [1000, 5000, 15000]. */
  retrySchedule: readonly number[];
  /** Deadline of one attempt, connection to last byte. */
  timeoutMs: number;
  /** Outputs above this travel as a link (`outputUrl`). */
  maxOutputBytes: number;
  /** Base of the execution links in payloads (KILN_PUBLIC_URL); '' gives a path. */
  publicUrl: string;
}

export interface WebhookDeliveryDeps {
  deliveries: WebhookDeliveryRepository;
  queue: WebhookQueue;
  client: OutboundClient;
  breakers: HostBreakers;
  box: SecretBox;
  settings: DeliverySettings;
  logger: Logger;
  metrics?: DeliveryMetrics;
  random?: () => number;
}

/** What one job did; the worker turns `deferred` into a delayed job. */
export type DeliveryResult =
  | { kind: 'missing' }
  | { kind: 'stale' }
  | { kind: 'duplicate' }
  | { kind: 'abandoned'; reason: string }
  | { kind: 'deferred'; delayMs: number; reason: string }
  | { kind: 'attempted'; status: WebhookDeliveryStatus; statusCode: number | null; latencyMs: number; error: string | null; retryInMs: number | null };

// Enough of a receiver's answer to tell "wrong route" from "stack trace".
const BODY_SNIPPET_BYTES = 200;
// Signing secrets kept opened, by their sealed form (AES-GCM per attempt was
// about 6 % of the notifier's CPU). A new or rotated secret is sealed anew,
// so it is a new key here and never meets a stale entry.
const OPENED_SECRETS = 1024;

/**
 * One attempt of one delivery: load the outbox row, resolve where it goes
 * and with which secret, send it through the SSRF-guarded client behind the
 * destination's breaker, record the attempt, and schedule the next one.
 *
 * Every write is conditional on the attempt count read at the start, so a
 * second copy of a job (stalled-job recovery, a relayed duplicate) finds
 * itself stale and sends nothing more.
 */
export class WebhookDeliveryService {
  private readonly random: () => number;
  private readonly openedSecrets = new Map<string, string>();

  constructor(private readonly deps: WebhookDeliveryDeps) {
    this.random = deps.random ?? Math.random;
  }

  async deliver(job: WebhookDeliverPayload): Promise<DeliveryResult> {
    const { deliveries, queue } = this.deps;
    const attempt = job.attempt ?? 0;
    const delivery = await deliveries.loadForSending(job.deliveryId);
    if (!delivery) return { kind: 'missing' };
    if (delivery.status !== 'pending') return { kind: 'stale' };
    if (delivery.attempts !== attempt) {
      // An older copy of a job whose attempt was recorded: make sure the job
      // for the current attempt exists (adding it again is a no-op).
      if (delivery.attempts > attempt) {
        await queue.schedule([{ deliveryId: delivery.id, attempt: delivery.attempts, delayMs: msUntil(delivery.nextAttemptAt) }]);
      }
      return { kind: 'stale' };
    }

    const stop = reasonNotToSend(delivery);
    if (stop !== null) return this.abandon(delivery, stop);
    const url = delivery.target.url as string;
    let secret: string | null;
    try {
      secret = delivery.target.secretEnc === null ? null : this.openSecret(delivery.target.secretEnc);
    } catch {
      return this.abandon(delivery, 'the signing secret could not be decrypted (was KILN_ENCRYPTION_KEY changed?)');
    }
    return this.attempt(delivery, url, secret);
  }

  private openSecret(sealed: string): string {
    let secret = this.openedSecrets.get(sealed);
    if (secret === undefined) {
      secret = this.deps.box.open(sealed);
      if (this.openedSecrets.size >= OPENED_SECRETS) this.openedSecrets.delete(this.openedSecrets.keys().next().value as string);
      this.openedSecrets.set(sealed, secret);
    }
    return secret;
  }

  private async attempt(delivery: DeliveryForSending, url: string, secret: string | null): Promise<DeliveryResult> {
    const { settings, breakers, client } = this.deps;
    const started = performance.now();
    let result: DeliveryAttemptResult;
    let detail: string | null = null;
    try {
      const destination = HostBreakers.destinationOf(url);
      const answer = await breakers.run(destination, async () => {
        const request = buildDeliveryRequest({
          payload: delivery.payload,
          deferredOutput: delivery.deferredOutput,
          messageId: delivery.messageId,
          secret,
          now: new Date(),
          maxOutputBytes: settings.maxOutputBytes,
          executionUrl: `${settings.publicUrl}/v1/executions/${delivery.executionId}`,
        });
        const response = await client.request({
          url,
          method: 'POST',
          headers: request.headers,
          body: request.body,
          timeoutMs: settings.timeoutMs,
          // A webhook is never followed to another place: a 3xx is a failed attempt.
          redirect: 'manual',
        });
        const snippet = bodySnippet(response.body);
        if (response.status >= 500 || response.status === 429) throw new HostFailure(response.status, snippet);
        return { statusCode: response.status, snippet };
      });
      result = { statusCode: answer.statusCode };
      detail = answer.snippet;
    } catch (error) {
      if (error instanceof BreakerOpenError) return this.defer(delivery, error);
      if (error instanceof HostFailure) {
        result = { statusCode: error.statusCode };
        detail = error.snippet;
      } else {
        result = { error };
      }
    }
    const latencyMs = Math.round(performance.now() - started);
    return this.record(delivery, url, result, detail, latencyMs);
  }

  private async record(
    delivery: DeliveryForSending,
    url: string,
    result: DeliveryAttemptResult,
    detail: string | null,
    latencyMs: number,
  ): Promise<DeliveryResult> {
    const { deliveries, queue, settings, logger } = this.deps;
    const verdict = classifyResponse(result);
    const statusCode = result.statusCode ?? null;
    let error: string | null = null;
    if (verdict.outcome !== 'success') {
      const base = result.error !== undefined ? describeError(result.error) : verdict.reason;
      error = detail ? `${base}: ${detail}` : base;
    }

    let status: WebhookDeliveryStatus;
    let retryInMs: number | null = null;
    let disableReason: string | null = null;
    if (verdict.outcome === 'success') {
      status = 'succeeded';
    } else if (verdict.outcome === 'disable') {
      status = 'failed';
      if (delivery.source === 'subscription') {
        disableReason = `${verdict.reason} from ${safeOrigin(url)} (delivery ${delivery.id}, ${new Date().toISOString()})`;
      }
    } else {
      // attempts - retryBase counts the attempts of this round (a redeliver starts a new one).
      retryInMs = nextRetryDelay(settings.retrySchedule, delivery.attempts + 1 - delivery.retryBase, this.random);
      status = retryInMs === null ? 'failed' : 'pending';
    }

    const recorded = await deliveries.recordAttempt({
      deliveryId: delivery.id,
      expectedAttempts: delivery.attempts,
      url,
      statusCode,
      latencyMs,
      error,
      status,
      nextAttemptAt: retryInMs === null ? null : new Date(Date.now() + retryInMs),
      disableSubscriptionReason: disableReason,
    });
    if (!recorded) return { kind: 'duplicate' };
    this.deps.metrics?.attempt(status, verdict.outcome, latencyMs);
    if (retryInMs !== null) {
      // If this throws, BullMQ retries the job, which then finds itself stale and schedules this.
      await queue.schedule([{ deliveryId: delivery.id, attempt: delivery.attempts + 1, delayMs: retryInMs }]);
    }
    const log = { deliveryId: delivery.id, executionId: delivery.executionId, tenantId: delivery.tenantId, event: delivery.event, attempt: delivery.attempts + 1, statusCode, latencyMs };
    if (status === 'failed') logger.warn({ ...log, error }, disableReason ? 'webhook endpoint answered 410 Gone; subscription disabled' : 'webhook delivery failed after its last retry');
    else if (status === 'pending') logger.info({ ...log, error, retryInMs }, 'webhook attempt failed; retry scheduled');
    else logger.debug(log, 'webhook delivered');
    return { kind: 'attempted', status, statusCode, latencyMs, error, retryInMs };
  }

  private async defer(delivery: DeliveryForSending, open: BreakerOpenError): Promise<DeliveryResult> {
    // Spread the deferred deliveries of one destination so they do not all
    // come back in the same millisecond; at most +20 % of the wait.
    const delayMs = Math.round(open.retryInMs * (1 + 0.2 * this.random()));
    const reason = `${open.message}; attempt ${delivery.attempts + 1} deferred (not counted)`;
    await this.deps.deliveries.defer(delivery.id, delivery.attempts, new Date(Date.now() + delayMs), reason);
    this.deps.metrics?.deferred();
    return { kind: 'deferred', delayMs, reason };
  }

  private async abandon(delivery: DeliveryForSending, reason: string): Promise<DeliveryResult> {
    await this.deps.deliveries.abandon(delivery.id, delivery.attempts, reason);
    this.deps.logger.info({ deliveryId: delivery.id, executionId: delivery.executionId, tenantId: delivery.tenantId, reason }, 'webhook delivery abandoned');
    return { kind: 'abandoned', reason };
  }
}

function reasonNotToSend(delivery: DeliveryForSending): string | null {
  const { target, source } = delivery;
  if (source === 'subscription') {
    if (!target.exists) return 'the subscription was deleted';
    if (!target.active) return 'the subscription is disabled';
  }
  if (source === 'api_key' && !target.exists) return 'the API key was revoked or its webhook removed';
  if (!target.url) return 'no destination URL';
  return null;
}

function describeError(error: unknown): string {
  if (error instanceof OutboundError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

function bodySnippet(body: Buffer): string | null {
  if (body.length === 0) return null;
  // PostgreSQL text cannot hold NUL: a receiver's NUL would make the attempt unrecordable, and the job would resend forever.
  const text = body.subarray(0, BODY_SNIPPET_BYTES).toString('utf8').replace(/\s+/g, ' ').replaceAll('\u0000', '\uFFFD').trim();
  return text === '' ? null : text;
}

function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'the endpoint';
  }
}

function msUntil(date: Date | null): number {
  return date === null ? 0 : Math.max(0, date.getTime() - Date.now());
}

import type { WebhookDeliveryWithAttempts, WebhookSubscription } from '@kiln/db';

export function subscriptionView(s: WebhookSubscription) {
  return {
    id: s.id,
    url: s.url,
    events: s.events,
    scriptId: s.scriptId,
    active: s.active,
    disabledAt: s.disabledAt?.toISOString() ?? null,
    disabledReason: s.disabledReason,
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
  };
}

/** A delivery with its attempts; the payload (up to 256 KiB of output) only when asked for one delivery. */
export function deliveryView(d: WebhookDeliveryWithAttempts, withPayload = false) {
  return {
    id: d.id,
    source: d.source,
    subscriptionId: d.subscriptionId,
    apiKeyId: d.apiKeyId,
    executionId: d.executionId,
    event: d.event,
    url: d.url,
    /** The `webhook-id` header: the same on every attempt of this event. */
    messageId: d.messageId,
    status: d.status,
    attemptCount: d.attempts,
    nextAttemptAt: d.status === 'pending' ? (d.nextAttemptAt?.toISOString() ?? null) : null,
    lastStatusCode: d.lastStatusCode,
    lastError: d.lastError,
    createdAt: d.createdAt.toISOString(),
    completedAt: d.completedAt?.toISOString() ?? null,
    attempts: d.attemptsLog.map((a) => ({
      attempt: a.attempt,
      statusCode: a.statusCode,
      latencyMs: a.latencyMs,
      error: a.error,
      at: a.createdAt.toISOString(),
    })),
    ...(withPayload ? { payload: publicPayload(d.payload) } : {}),
  };
}

// The outbox marks an output too large to copy; subscribers saw a link instead.
function publicPayload(payload: unknown): unknown {
  if (typeof payload !== 'object' || payload === null) return payload;
  const p = payload as { data?: Record<string, unknown> };
  if (!p.data || p.data.outputDeferred !== true) return payload;
  const { outputDeferred: _deferred, ...data } = p.data;
  return { ...p, data: { ...data, output: null, outputTruncated: true } };
}

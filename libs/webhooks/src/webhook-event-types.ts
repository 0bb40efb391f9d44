/** Every event a subscriber can receive (SPEC §6); order is the lifecycle order. */
export const WEBHOOK_EVENTS = [
  'execution.started',
  'execution.completed',
  'execution.failed',
  'execution.cancelled',
  'execution.pending_approval',
] as const;

export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

// A Set keeps the guard O(1) and avoids widening WEBHOOK_EVENTS to string[].
const EVENT_SET: ReadonlySet<string> = new Set(WEBHOOK_EVENTS);

/** Narrows untrusted input (API bodies, stored subscription rows) to a known event. */
export function isWebhookEvent(value: unknown): value is WebhookEvent {
  return typeof value === 'string' && EVENT_SET.has(value);
}

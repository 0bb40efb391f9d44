import { isValidWebhookSecret, WEBHOOK_EVENTS } from '@kiln/webhooks';
import { z } from 'zod';
import { pageQuery } from '../http/page-query';

const webhookUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2048);
const eventList = z
  .array(z.enum(WEBHOOK_EVENTS))
  .min(1)
  .max(WEBHOOK_EVENTS.length * 4)
  .transform((events) => [...new Set(events)]);
// Subscriptions are signed with both schemes, and the Standard Webhooks one
// needs a key: free-form secrets are only accepted on API-key webhooks.
const secret = z.string().refine(isValidWebhookSecret, "must be 'whsec_' followed by padded base64 of 24 to 64 bytes (omit it to have one generated)");
const scriptRef = z.string().trim().min(1).max(100);

export const createWebhookBody = z.object({
  url: webhookUrl,
  events: eventList.default([...WEBHOOK_EVENTS]),
  secret: secret.optional(),
  /** Only this script's executions (id or name). */
  scriptId: scriptRef.nullable().optional(),
});
export type CreateWebhookBody = z.infer<typeof createWebhookBody>;

export const updateWebhookBody = z
  .object({
    url: webhookUrl,
    events: eventList,
    secret,
    /** true: a new secret is generated and returned once. */
    rotateSecret: z.literal(true),
    scriptId: scriptRef.nullable(),
    /** true re-enables a subscription disabled by a 410 (or by hand); false disables it. */
    active: z.boolean(),
  })
  .partial()
  .strict()
  .refine((b) => !(b.secret !== undefined && b.rotateSecret), { message: 'give either secret or rotateSecret, not both', path: ['rotateSecret'] });
export type UpdateWebhookBody = z.infer<typeof updateWebhookBody>;

export const replayBody = z
  .object({
    since: z.iso.datetime({ offset: true }),
    until: z.iso.datetime({ offset: true }).optional(),
  })
  .refine((b) => b.until === undefined || Date.parse(b.until) >= Date.parse(b.since), { message: 'must not be before since', path: ['until'] });
export type ReplayBody = z.infer<typeof replayBody>;

const deliveryStatus = z.enum(['pending', 'succeeded', 'failed']);

export const subscriptionDeliveriesQuery = pageQuery.extend({ status: deliveryStatus.optional() });
export type SubscriptionDeliveriesQuery = z.infer<typeof subscriptionDeliveriesQuery>;

export const deliveriesQuery = subscriptionDeliveriesQuery.extend({
  executionId: z.uuid().optional(),
  subscriptionId: z.uuid().optional(),
  source: z.enum(['subscription', 'api_key', 'run']).optional(),
});
export type DeliveriesQuery = z.infer<typeof deliveriesQuery>;

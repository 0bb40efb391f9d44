import { Module } from '@nestjs/common';
import { documentOperations } from '../docs/openapi-document';
import { createWebhookBody, replayBody, updateWebhookBody } from './webhook.dto';
import { WebhookDeliveriesController } from './webhook-deliveries.controller';
import { WebhookDispatch } from './webhook-dispatch';
import { WebhookUrlGuard } from './webhook-url-guard';
import { WebhooksController } from './webhooks.controller';

const scopes = ['webhooks.manage'];
const notFound = { '404': 'Not found (or another tenant’s)' };
const bad = { '400': 'Validation error (per-field details); an SSRF-refused URL names the field' };
const page = { limit: 'Page size (1-1000, default 50)', offset: 'Items to skip' };
const deliveryFilters = { ...page, status: 'pending|succeeded|failed' };

documentOperations(
  { method: 'post', path: '/v1/webhooks', summary: 'Subscribe a URL to execution events (a generated whsec_ secret is returned once)', tag: 'webhooks', scopes, body: createWebhookBody, responses: { '201': 'The subscription (with `secret` when generated)', ...bad } },
  { method: 'get', path: '/v1/webhooks', summary: 'List subscriptions (never the secret)', tag: 'webhooks', scopes, query: page, responses: { '200': '{items,total,limit,offset}' } },
  { method: 'get', path: '/v1/webhooks/:id', summary: 'One subscription, with why it is disabled if it is', tag: 'webhooks', scopes, responses: { '200': 'The subscription', ...notFound } },
  { method: 'patch', path: '/v1/webhooks/:id', summary: 'Change URL, events, script filter or secret; {"active": true} re-enables after a 410', tag: 'webhooks', scopes, body: updateWebhookBody, responses: { '200': 'Updated (with `secret` when rotated)', ...bad, ...notFound } },
  { method: 'delete', path: '/v1/webhooks/:id', summary: 'Delete a subscription (its pending deliveries end failed)', tag: 'webhooks', scopes, responses: { '204': 'Deleted', ...notFound } },
  { method: 'get', path: '/v1/webhooks/:id/deliveries', summary: 'Deliveries of a subscription, each with every attempt (status code, latency, error)', tag: 'webhooks', scopes, query: deliveryFilters, responses: { '200': '{items,total,totalExact,limit,offset}: total is exact up to 1,000 matches; past that it is 1000 with totalExact false', ...bad, ...notFound } },
  { method: 'post', path: '/v1/webhooks/:id/replay', summary: 'Re-send every failed delivery of a subscription created since a time', tag: 'webhooks', scopes, body: replayBody, responses: { '202': '{replayed,limit,since,until}', ...bad, ...notFound, '409': 'WEBHOOK_DISABLED' } },
  { method: 'get', path: '/v1/webhook-deliveries', summary: 'Deliveries of every source (subscriptions, API-key webhooks, per-run webhookUrl)', tag: 'webhooks', scopes, query: { ...deliveryFilters, executionId: 'Filter by execution', subscriptionId: 'Filter by subscription', source: 'subscription|api_key|run' }, responses: { '200': '{items,total,totalExact,limit,offset}: total is exact up to 1,000 matches; past that it is 1000 with totalExact false', ...bad } },
  { method: 'get', path: '/v1/webhook-deliveries/:id', summary: 'One delivery with its attempts', tag: 'webhooks', scopes, responses: { '200': 'The delivery', ...notFound } },
  { method: 'post', path: '/v1/webhook-deliveries/:id/redeliver', summary: 'Send a finished delivery again (same webhook-id, fresh retry schedule)', tag: 'webhooks', scopes, responses: { '202': 'The delivery, pending again', ...notFound, '409': 'DELIVERY_PENDING, WEBHOOK_DISABLED or WEBHOOK_DELETED' } },
);

/**
 * `/v1/webhooks` and `/v1/webhook-deliveries`, plus what the rest of the API
 * needs for webhooks: the subscribe-time SSRF check and the after-commit
 * enqueue of outbox rows.
 */
@Module({
  controllers: [WebhooksController, WebhookDeliveriesController],
  providers: [WebhookUrlGuard, WebhookDispatch],
  exports: [WebhookUrlGuard, WebhookDispatch],
})
export class WebhooksModule {}

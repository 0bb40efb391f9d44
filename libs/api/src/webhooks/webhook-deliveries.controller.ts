import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { KilnError } from '@kiln/core';
import { WebhookDeliveryRepository, WebhookSubscriptionRepository } from '@kiln/db';
import type { AuthContext } from '../auth/auth-context';
import { Auth, RequireScopes } from '../auth/auth.decorators';
import { LIST_TOTAL_CAP } from '../http/page-query';
import { uuidParam } from '../http/uuid-param';
import { ZodPipe } from '../http/zod-body.pipe';
import { deliveriesQuery, type DeliveriesQuery } from './webhook.dto';
import { WebhookDispatch } from './webhook-dispatch';
import { deliveryView } from './webhook-views';

/**
 * Deliveries of every source: subscriptions, API-key webhooks and per-run
 * webhookUrl (the last two have no subscription to list them under).
 */
@Controller('v1/webhook-deliveries')
@RequireScopes('webhooks.manage')
export class WebhookDeliveriesController {
  constructor(
    private readonly deliveries: WebhookDeliveryRepository,
    private readonly subscriptions: WebhookSubscriptionRepository,
    private readonly dispatch: WebhookDispatch,
  ) {}

  @Get()
  async list(@Auth() auth: AuthContext, @Query(new ZodPipe(deliveriesQuery, 'query')) query: DeliveriesQuery) {
    const { limit, offset, ...filter } = query;
    const { items, total, totalExact } = await this.deliveries.list(auth.tenantId, filter, { limit, offset }, { countUpTo: LIST_TOTAL_CAP });
    return { items: items.map((d) => deliveryView(d)), total, totalExact, limit, offset };
  }

  @Get(':id')
  async get(@Auth() auth: AuthContext, @Param('id', uuidParam('Webhook delivery')) id: string) {
    const found = await this.deliveries.findById(auth.tenantId, id);
    if (!found) throw KilnError.notFound('Webhook delivery', id);
    return deliveryView(found, true);
  }

  /** Sends a finished delivery again (same webhook-id, a fresh retry schedule). */
  @Post(':id/redeliver')
  @HttpCode(202)
  async redeliver(@Auth() auth: AuthContext, @Param('id', uuidParam('Webhook delivery')) id: string) {
    const found = await this.deliveries.findById(auth.tenantId, id);
    if (!found) throw KilnError.notFound('Webhook delivery', id);
    if (found.status === 'pending') throw KilnError.conflict('DELIVERY_PENDING', 'The delivery is still being attempted', { nextAttemptAt: found.nextAttemptAt?.toISOString() ?? null });
    if (found.source === 'subscription') {
      const subscription = found.subscriptionId ? await this.subscriptions.findById(auth.tenantId, found.subscriptionId) : null;
      if (!subscription) throw KilnError.conflict('WEBHOOK_DELETED', 'The subscription of this delivery was deleted');
      if (!subscription.active) {
        throw KilnError.conflict('WEBHOOK_DISABLED', 'The subscription is disabled; re-enable it (PATCH {"active": true}) first', {
          disabledReason: subscription.disabledReason,
        });
      }
    }
    const reset = await this.deliveries.redeliver(auth.tenantId, id);
    if (!reset) throw KilnError.conflict('DELIVERY_PENDING', 'The delivery is already being attempted again');
    await this.dispatch.enqueue([{ deliveryId: reset.id, attempt: reset.attempts }]);
    const view = await this.deliveries.findById(auth.tenantId, id);
    if (!view) throw KilnError.notFound('Webhook delivery', id);
    return deliveryView(view);
  }
}

import { Injectable } from '@nestjs/common';
import type { Logger } from '@kiln/observability';
import { InjectLogger } from '@kiln/platform';
import { WebhookQueue, type ScheduledDelivery } from '@kiln/queue';

/**
 * Hands outbox rows to the `webhooks` queue after the commit that wrote or
 * reset them (a gateway-side cancel or reject, a redeliver, a replay).
 * Never throws: a lost enqueue is picked up by the notifier's relay a few
 * seconds later, so the caller's answer does not depend on Redis.
 */
@Injectable()
export class WebhookDispatch {
  constructor(
    private readonly queue: WebhookQueue,
    @InjectLogger() private readonly logger: Logger,
  ) {}

  afterCommit(deliveryIds: readonly string[]): Promise<void> {
    return this.enqueue(deliveryIds.map((deliveryId) => ({ deliveryId, attempt: 0 })));
  }

  async enqueue(deliveries: readonly ScheduledDelivery[]): Promise<void> {
    if (deliveries.length === 0) return;
    try {
      await this.queue.schedule(deliveries);
    } catch (err) {
      this.logger.warn({ err, count: deliveries.length }, 'could not enqueue webhook deliveries; the notifier relay will send them');
    }
  }
}

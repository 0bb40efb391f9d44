import type { WebhookDeliveryRepository } from '@kiln/db';
import type { Logger } from '@kiln/observability';
import type { WebhookQueue } from '@kiln/queue';
import type { DeliveryMetrics } from './delivery-metrics';

export interface RelaySettings {
  /** A due outbox row not yet seen by the queue after this long is enqueued here. */
  lostAfterMs: number;
  /** A pending row overdue this long, with nothing touching it, has its job re-added. */
  stuckAfterMs: number;
  intervalMs: number;
  batchSize: number;
}

/**
 * The other half of the outbox. A status change commits its outbox rows and
 * then enqueues them; a process that dies between the two leaves rows that
 * no job will ever pick up. This loop finds such rows (and rows whose job
 * vanished from Redis) and enqueues them. Job ids are delivery+attempt, so a
 * row whose job does exist is re-added as a no-op, and every notifier may
 * run the relay at once.
 */
export class WebhookRelay {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly deliveries: WebhookDeliveryRepository,
    private readonly queue: WebhookQueue,
    private readonly settings: RelaySettings,
    private readonly logger: Logger,
    private readonly metrics?: DeliveryMetrics,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.tick()
        .then(() => undefined)
        .finally(() => {
          this.running = null;
        });
    }, this.settings.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One pass; returns how many rows it enqueued. */
  async tick(): Promise<number> {
    try {
      const rows = await this.deliveries.relayCandidates(this.settings.lostAfterMs, this.settings.stuckAfterMs, this.settings.batchSize);
      if (rows.length === 0) return 0;
      const now = Date.now();
      await this.queue.schedule(
        rows.map((row) => ({
          deliveryId: row.id,
          attempt: row.attempts,
          delayMs: row.nextAttemptAt ? Math.max(0, row.nextAttemptAt.getTime() - now) : 0,
        })),
      );
      await this.deliveries.markEnqueued(rows.map((row) => row.id));
      this.metrics?.relay(rows.length);
      this.logger.info({ count: rows.length }, 'relay enqueued outbox rows that had no job');
      return rows.length;
    } catch (err) {
      this.logger.warn({ err }, 'webhook relay pass failed; will try again');
      return 0;
    }
  }
}

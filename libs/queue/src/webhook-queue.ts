import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { JobName, QueueName, type WebhookDeliverPayload } from './contracts';

export interface WebhookQueueOptions {
  connection: Redis;
  prefix: string;
}

export interface ScheduledDelivery {
  deliveryId: string;
  /** Attempts already made (the job for attempt n+1 carries n). */
  attempt: number;
  delayMs?: number;
}

// Infrastructure failures (PostgreSQL unreachable) retry the same job; the
// webhook retry schedule itself is new delayed jobs, never BullMQ backoff.
const JOB_OPTIONS: JobsOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: true,
  // A job that gives up is removed so the notifier's relay can add it again.
  removeOnFail: true,
};

/**
 * Producer side of the `webhooks` queue. The job id is the delivery plus the
 * attempt it is for, so adding the same job twice (a relay racing the
 * original producer) is a no-op while the first copy exists.
 */
export class WebhookQueue {
  readonly queue: Queue;

  constructor(options: WebhookQueueOptions) {
    this.queue = new Queue(QueueName.Webhooks, { connection: options.connection, prefix: options.prefix });
    this.queue.on('error', () => undefined);
  }

  static jobId(deliveryId: string, attempt: number): string {
    return `wh-${deliveryId}-${attempt}`;
  }

  /** New outbox rows, after the transaction that wrote them committed. */
  async enqueueNew(deliveryIds: readonly string[]): Promise<void> {
    await this.schedule(deliveryIds.map((deliveryId) => ({ deliveryId, attempt: 0 })));
  }

  async schedule(deliveries: readonly ScheduledDelivery[]): Promise<void> {
    if (deliveries.length === 0) return;
    await this.queue.addBulk(
      deliveries.map(({ deliveryId, attempt, delayMs }) => {
        const data: WebhookDeliverPayload = { deliveryId, attempt };
        const delay = Math.max(0, Math.round(delayMs ?? 0));
        return { name: JobName.WebhookDeliver, data, opts: { ...JOB_OPTIONS, jobId: WebhookQueue.jobId(deliveryId, attempt), ...(delay > 0 ? { delay } : {}) } };
      }),
    );
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}

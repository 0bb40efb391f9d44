import { type BeforeApplicationShutdown, Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { KilnConfig } from '@kiln/config';
import type { Logger } from '@kiln/observability';
import type { OutboundClient } from '@kiln/outbound';
import { InjectConfig, InjectLogger, InjectRedis } from '@kiln/platform';
import { closeWorkerWithin, createRedis, JobName, QueueName, waitForRedis, webhookDeliverPayload } from '@kiln/queue';
import { DelayedError, type Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { HostBreakers } from './host-breakers';
import { WEBHOOK_OUTBOUND_CLIENT } from './delivery.tokens';
import { WebhookDeliveryService } from './webhook-delivery.service';
import { WebhookRelay } from './webhook-relay';

/**
 * The notifier's consumer of `webhooks`. It starts after the app has booted;
 * on SIGTERM it stops taking jobs and lets attempts in flight finish within
 * the grace period (an attempt cut short is re-run by stalled-job recovery,
 * with the same webhook-id).
 */
@Injectable()
export class WebhookWorker implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private worker: Worker | null = null;
  private connection: Redis | null = null;

  constructor(
    @InjectConfig() private readonly config: KilnConfig,
    @InjectLogger() private readonly logger: Logger,
    @InjectRedis() private readonly redis: Redis,
    private readonly service: WebhookDeliveryService,
    private readonly relay: WebhookRelay,
    private readonly breakers: HostBreakers,
    @Inject(WEBHOOK_OUTBOUND_CLIENT) private readonly client: OutboundClient,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await waitForRedis(this.redis, this.config.redis.url);
    const { notifier, worker: w } = this.config;
    this.connection = createRedis(this.config.redis.url, 'worker', 'notifier');
    this.worker = new Worker(QueueName.Webhooks, (job, token) => this.process(job, token), {
      connection: this.connection,
      prefix: this.config.redis.prefix,
      concurrency: notifier.concurrency,
      lockDuration: w.jobLockMs,
      stalledInterval: w.stalledIntervalMs,
      // A job re-run this often after notifier crashes is failed and removed;
      // its row is still pending, so the relay adds it again later.
      maxStalledCount: 5,
      autorun: false,
    });
    this.worker.on('error', (err) => this.logger.error({ err }, 'webhooks worker error'));
    this.worker.on('failed', (job, err) => {
      if (job) this.logger.warn({ err, jobId: job.id, attemptsMade: job.attemptsMade }, 'webhook job failed (infrastructure); it will be retried');
    });
    void this.worker.run();
    this.relay.start();
    this.logger.info({ concurrency: notifier.concurrency, retrySchedule: notifier.retrySchedule }, 'notifier consuming webhooks');
  }

  // Before any module's onApplicationShutdown: attempts still in flight need
  // PostgreSQL and Redis (the platform's connections) to record and reschedule.
  async beforeApplicationShutdown(): Promise<void> {
    await this.relay.stop();
    if (this.worker) {
      const graceMs = this.config.shutdownGraceMs;
      await closeWorkerWithin(this.worker, graceMs, () =>
        this.logger.warn({ graceMs }, 'grace period over; closing with webhook attempts in flight (they will be re-sent)'),
      );
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.breakers.close();
    await this.client.close().catch(() => undefined);
    this.connection?.disconnect();
  }

  private async process(job: Job, token: string | undefined): Promise<string> {
    if (job.name !== JobName.WebhookDeliver) {
      this.logger.warn({ name: job.name }, 'unknown job on the webhooks queue; dropping it');
      return 'unknown-job';
    }
    const result = await this.service.deliver(webhookDeliverPayload.parse(job.data));
    if (result.kind === 'deferred') {
      // Same job, later: an open breaker reschedules, it never drops or counts.
      await job.moveToDelayed(Date.now() + result.delayMs, token);
      throw new DelayedError();
    }
    return result.kind === 'attempted' ? result.status : result.kind;
  }
}

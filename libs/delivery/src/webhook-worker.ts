import { Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { KilnConfig } from '@kiln/config';
import type { Logger } from '@kiln/observability';
import { InjectConfig, InjectLogger, InjectRedis } from '@kiln/platform';
import { createRedis, QueueName, waitForRedis } from '@kiln/queue';
import { type Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';

/** Consumer of the `webhooks` queue. */
@Injectable()
export class WebhookWorker implements OnApplicationBootstrap, OnApplicationShutdown {
  private worker: Worker | null = null;
  private connection: Redis | null = null;

  constructor(
    @InjectConfig() private readonly config: KilnConfig,
    @InjectLogger() private readonly logger: Logger,
    @InjectRedis() private readonly redis: Redis,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await waitForRedis(this.redis, this.config.redis.url);
    this.connection = createRedis(this.config.redis.url, 'worker', 'notifier');
    this.worker = new Worker(QueueName.Webhooks, (job) => this.process(job), {
      connection: this.connection,
      prefix: this.config.redis.prefix,
      concurrency: this.config.notifier.concurrency,
      autorun: false,
    });
    this.worker.on('error', (err) => this.logger.error({ err }, 'webhooks worker error'));
    void this.worker.run();
    this.logger.info({ concurrency: this.config.notifier.concurrency }, 'notifier consuming webhooks');
  }

  async onApplicationShutdown(): Promise<void> {
    await this.worker?.close();
    this.connection?.disconnect();
  }

  private process(job: Job): Promise<unknown> {
    this.logger.warn({ name: job.name, id: job.id }, 'webhook delivery is not implemented yet');
    return Promise.resolve('not-implemented');
  }
}

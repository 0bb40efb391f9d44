import { type DynamicModule, Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { KilnConfig } from '@kiln/config';
import { SecretBox } from '@kiln/core';
import { DatabaseModule } from '@kiln/db';
import { createLogger, createMetricsRegistry, type Logger, Registry } from '@kiln/observability';
import { ExecutionQueue, ExecutionSignals, InvalidationBus, WebhookQueue, createRedis } from '@kiln/queue';
import type { Redis } from 'ioredis';
import { ReadinessProbe } from './readiness';
import { APP_NAME, KILN_CONFIG, LOGGER, REDIS, REDIS_SUBSCRIBER } from './tokens';

export interface PlatformOptions {
  config: KilnConfig;
  /** gateway | worker | notifier | all-in-one: names logs, metrics and connections. */
  appName: string;
  logger?: Logger;
}

/**
 * The shared infrastructure every Kiln app needs, wired once: configuration,
 * PostgreSQL, Redis, the executions queue, pub/sub signals, logging and
 * metrics. Feature modules inject these; none of them builds its own.
 */
@Global()
@Module({})
export class PlatformModule implements OnApplicationShutdown {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(REDIS_SUBSCRIBER) private readonly subscriber: Redis,
    @Inject(ExecutionQueue) private readonly executionQueue: ExecutionQueue,
    @Inject(WebhookQueue) private readonly webhookQueue: WebhookQueue,
  ) {}

  static forRoot(options: PlatformOptions): DynamicModule {
    const { config, appName } = options;
    const logger = options.logger ?? createLogger({ name: appName, level: config.logLevel });
    return {
      module: PlatformModule,
      imports: [DatabaseModule.forRoot({ url: config.database.url, poolSize: config.database.poolSize, applicationName: `kiln-${appName}` })],
      providers: [
        ReadinessProbe,
        { provide: KILN_CONFIG, useValue: config },
        { provide: APP_NAME, useValue: appName },
        { provide: LOGGER, useValue: logger },
        { provide: Registry, useFactory: () => createMetricsRegistry(appName) },
        { provide: SecretBox, useFactory: () => new SecretBox(config.security.encryptionKey) },
        { provide: REDIS, useFactory: () => createRedis(config.redis.url, 'producer', `${appName}:client`) },
        { provide: REDIS_SUBSCRIBER, useFactory: () => createRedis(config.redis.url, 'subscriber', `${appName}:subscriber`) },
        {
          provide: ExecutionQueue,
          inject: [REDIS],
          useFactory: (redis: Redis) =>
            new ExecutionQueue({ connection: redis, prefix: config.redis.prefix, attempts: config.worker.jobAttempts }),
        },
        {
          provide: WebhookQueue,
          inject: [REDIS],
          useFactory: (redis: Redis) => new WebhookQueue({ connection: redis, prefix: config.redis.prefix }),
        },
        {
          provide: ExecutionSignals,
          inject: [REDIS, REDIS_SUBSCRIBER],
          useFactory: (redis: Redis, sub: Redis) => new ExecutionSignals(redis, sub, config.redis.prefix),
        },
        {
          provide: InvalidationBus,
          inject: [REDIS, REDIS_SUBSCRIBER],
          useFactory: (redis: Redis, sub: Redis) => new InvalidationBus(redis, sub, config.redis.prefix),
        },
      ],
      exports: [
        ReadinessProbe,
        DatabaseModule,
        KILN_CONFIG,
        APP_NAME,
        LOGGER,
        Registry,
        SecretBox,
        REDIS,
        REDIS_SUBSCRIBER,
        ExecutionQueue,
        WebhookQueue,
        ExecutionSignals,
        InvalidationBus,
      ],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.executionQueue.close().catch(() => undefined);
    await this.webhookQueue.close().catch(() => undefined);
    this.subscriber.disconnect();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}


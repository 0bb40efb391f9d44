import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { KilnConfig } from '@kiln/config';
import { InjectConfig, InjectRedis } from '@kiln/platform';
import { ExecutionSignals, InvalidationBus, waitForRedis } from '@kiln/queue';
import type { Redis } from 'ioredis';

/** Subscribes to the done and invalidation channels before the port opens. */
@Injectable()
export class GatewayLifecycle implements OnApplicationBootstrap {
  constructor(
    @InjectConfig() private readonly config: KilnConfig,
    @InjectRedis() private readonly redis: Redis,
    private readonly signals: ExecutionSignals,
    private readonly bus: InvalidationBus,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await waitForRedis(this.redis, this.config.redis.url);
    await this.signals.listen({ done: true });
    await this.bus.listen();
  }
}

import type { Redis } from 'ioredis';

export interface InvalidationMessage {
  kind: 'api-key' | 'script' | 'tenant' | 'webhooks';
  /** Cache key within the kind, e.g. a key hash or `tenantId:scriptId`. */
  id: string;
}

/**
 * In-process caches (API keys, scripts) are shared-nothing across replicas;
 * this channel tells every replica to drop an entry the moment it changes,
 * so a revoked key stops working everywhere at once.
 */
export class InvalidationBus {
  private readonly handlers = new Set<(message: InvalidationMessage) => void>();
  private readonly channel: string;
  private subscribed = false;

  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    prefix: string,
  ) {
    this.channel = `${prefix}:cache:invalidate`;
    subscriber.on('message', (channel: string, raw: string) => {
      if (channel !== this.channel) return;
      try {
        const message = JSON.parse(raw) as InvalidationMessage;
        for (const handler of this.handlers) handler(message);
      } catch {
        // A malformed message only costs a cache entry its early eviction.
      }
    });
  }

  async listen(): Promise<void> {
    if (this.subscribed) return;
    await this.subscriber.subscribe(this.channel);
    this.subscribed = true;
  }

  onInvalidate(handler: (message: InvalidationMessage) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  /** Applies locally at once (no round trip), then tells the other replicas. */
  async publish(message: InvalidationMessage): Promise<void> {
    for (const handler of this.handlers) handler(message);
    await this.publisher.publish(this.channel, JSON.stringify(message));
  }
}

import { Injectable, type OnModuleInit } from '@nestjs/common';
import { hashApiKey, isApiKeyFormat, hashesEqual, KilnError } from '@kiln/core';
import { ApiKeyRepository, type ApiKeyWithTenant } from '@kiln/db';
import { InvalidationBus } from '@kiln/queue';
import type { AuthContext } from './auth-context';

const CACHE_TTL_MS = 30_000;
const CACHE_LIMIT = 10_000;

interface CacheEntry {
  record: ApiKeyWithTenant | null;
  expiresAt: number;
}

/**
 * Turns a presented key into an AuthContext. Keys are looked up by their
 * SHA-256 hash (the key itself is never stored) and compared in constant
 * time. Lookups are cached per process; changes to a key are broadcast on
 * the invalidation bus, so revocation takes effect on every replica at once.
 */
@Injectable()
export class ApiKeyResolver implements OnModuleInit {
  private readonly cache = new Map<string, CacheEntry>();

  constructor(
    private readonly keys: ApiKeyRepository,
    private readonly bus: InvalidationBus,
  ) {}

  onModuleInit(): void {
    this.bus.onInvalidate((message) => {
      if (message.kind === 'api-key') this.cache.delete(message.id);
      if (message.kind === 'tenant') this.cache.clear();
    });
  }

  async resolve(presented: string | undefined): Promise<AuthContext> {
    if (!presented) throw KilnError.unauthorized('Missing API key: send Authorization: Bearer <key> or ?apiKey=<key>');
    if (!isApiKeyFormat(presented)) throw KilnError.unauthorized('Invalid API key');
    const hash = hashApiKey(presented);
    const record = await this.lookup(hash);
    if (!record || !hashesEqual(record.keyHash, hash) || record.revokedAt) throw KilnError.unauthorized('Invalid API key');
    if (!record.active) throw KilnError.forbidden('API key is inactive', 'API_KEY_INACTIVE');
    if (record.expiresAt && record.expiresAt.getTime() <= Date.now()) {
      throw KilnError.forbidden(`API key expired at ${record.expiresAt.toISOString()}`, 'API_KEY_EXPIRED');
    }
    return {
      apiKeyId: record.id,
      tenantId: record.tenantId,
      tenantSlug: record.tenant.slug,
      scopes: record.scopes,
      isAdmin: record.scopes.includes('admin'),
      keyPrefix: record.prefix,
      monthlyExecutionLimit: record.monthlyExecutionLimit,
      rateLimit: { burst: record.rateLimitBurst, refillPerSecond: record.rateLimitRefillPerSecond },
      webhook: record.webhookUrl ? { url: record.webhookUrl, events: record.webhookEvents, secretEnc: record.webhookSecretEnc } : null,
    };
  }

  /** Drop a cached key everywhere (after PATCH or DELETE). */
  async invalidate(keyHash: string): Promise<void> {
    await this.bus.publish({ kind: 'api-key', id: keyHash });
  }

  private async lookup(hash: string): Promise<ApiKeyWithTenant | null> {
    const now = Date.now();
    const hit = this.cache.get(hash);
    if (hit && hit.expiresAt > now) return hit.record;
    const record = await this.keys.findByHash(hash);
    if (this.cache.size >= CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value as string);
    // Unknown keys are cached briefly too, so a flood of bad keys cannot hammer PostgreSQL.
    this.cache.set(hash, { record, expiresAt: now + (record ? CACHE_TTL_MS : 2_000) });
    return record;
  }
}

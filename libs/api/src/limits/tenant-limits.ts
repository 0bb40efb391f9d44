import { Injectable, type OnModuleInit } from '@nestjs/common';
import type { KilnConfig } from '@kiln/config';
import { TenantRepository } from '@kiln/db';
import { InjectConfig } from '@kiln/platform';
import { InvalidationBus } from '@kiln/queue';

/** A tenant's effective caps: its own override, else the installation default. */
export interface EffectiveTenantLimits {
  concurrency: number;
  /** null: no cap. */
  hourlyExecutions: number | null;
  dailyExecutions: number | null;
}

const CACHE_TTL_MS = 10_000;
const CACHE_LIMIT = 10_000;

/**
 * Tenant limits as the gateway applies them, cached per process (a run must
 * not cost a tenant lookup) and dropped everywhere when PATCH /v1/tenants/:id
 * changes them (invalidation bus, kind `tenant`).
 */
@Injectable()
export class TenantLimits implements OnModuleInit {
  private readonly cache = new Map<string, { limits: EffectiveTenantLimits; expiresAt: number }>();

  constructor(
    @InjectConfig() private readonly config: KilnConfig,
    private readonly tenants: TenantRepository,
    private readonly bus: InvalidationBus,
  ) {}

  onModuleInit(): void {
    this.bus.onInvalidate((message) => {
      if (message.kind === 'tenant') this.cache.delete(message.id);
    });
  }

  async get(tenantId: string): Promise<EffectiveTenantLimits> {
    const now = Date.now();
    const hit = this.cache.get(tenantId);
    if (hit && hit.expiresAt > now) return hit.limits;
    const tenant = await this.tenants.findById(tenantId);
    const { limits: defaults } = this.config;
    const limits: EffectiveTenantLimits = {
      concurrency: tenant?.concurrencyLimit ?? defaults.tenantConcurrency,
      hourlyExecutions: tenant?.hourlyExecutionLimit ?? defaults.tenantHourlyExecutions,
      dailyExecutions: tenant?.dailyExecutionLimit ?? defaults.tenantDailyExecutions,
    };
    if (this.cache.size >= CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(tenantId, { limits, expiresAt: now + CACHE_TTL_MS });
    return limits;
  }

  /** After a change: every gateway (and worker) re-reads the tenant. */
  async invalidate(tenantId: string): Promise<void> {
    await this.bus.publish({ kind: 'tenant', id: tenantId });
  }
}

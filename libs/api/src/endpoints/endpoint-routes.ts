import { Injectable, type OnModuleInit } from '@nestjs/common';
import { ScriptRepository, TenantRepository } from '@kiln/db';
import { InvalidationBus } from '@kiln/queue';

const TTL_MS = 30_000;
/** Unknown slugs and paths are remembered briefly, so a scan of random URLs cannot hammer PostgreSQL. */
const MISS_TTL_MS = 5_000;
const LIMIT = 10_000;

interface Entry<T> {
  value: T;
  expiresAt: number;
}

/** A small TTL map with FIFO eviction; enough for lookups that are invalidated explicitly. */
class TtlMap<T> {
  private readonly entries = new Map<string, Entry<T>>();

  get(key: string, now: number): T | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    if (hit.expiresAt > now) return hit.value;
    this.entries.delete(key);
    return undefined;
  }

  set(key: string, value: T, ttlMs: number, now: number): void {
    if (this.entries.size >= LIMIT) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, { value, expiresAt: now + ttlMs });
  }

  dropWhere(predicate: (key: string) => boolean): void {
    for (const key of [...this.entries.keys()]) if (predicate(key)) this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}

/**
 * Which script answers `METHOD /x/:tenantSlug/<path>`: tenant by slug, then
 * the `script_http_routes` row. Both lookups are cached per gateway and
 * dropped on every replica when a script of the tenant is created, changed
 * or deleted (the script invalidation message), or when a tenant changes.
 */
@Injectable()
export class EndpointRoutes implements OnModuleInit {
  private readonly tenants = new TtlMap<{ id: string } | null>();
  private readonly routes = new TtlMap<string | null>();

  constructor(
    private readonly tenantRepository: TenantRepository,
    private readonly scripts: ScriptRepository,
    private readonly bus: InvalidationBus,
  ) {}

  onModuleInit(): void {
    this.bus.onInvalidate((message) => {
      if (message.kind === 'tenant') {
        this.tenants.clear();
        this.routes.clear();
      }
      if (message.kind === 'script') {
        const tenantId = message.id.split(':')[0] ?? '';
        this.routes.dropWhere((key) => key.startsWith(`${tenantId}:`));
      }
    });
  }

  async tenantBySlug(slug: string): Promise<{ id: string } | null> {
    const now = Date.now();
    const cached = this.tenants.get(slug, now);
    if (cached !== undefined) return cached;
    const tenant = await this.tenantRepository.findBySlug(slug);
    const value = tenant ? { id: tenant.id } : null;
    this.tenants.set(slug, value, value ? TTL_MS : MISS_TTL_MS, now);
    return value;
  }

  async scriptIdFor(tenantId: string, path: string, method: string): Promise<string | null> {
    const key = `${tenantId}:${method}:${path}`;
    const now = Date.now();
    const cached = this.routes.get(key, now);
    if (cached !== undefined) return cached;
    const scriptId = await this.scripts.findRouteScriptId(tenantId, path, method);
    this.routes.set(key, scriptId, scriptId ? TTL_MS : MISS_TTL_MS, now);
    return scriptId;
  }
}

import { Injectable } from '@nestjs/common';
import { Database } from './database';
import type { ApiKey, Prisma } from './generated/prisma/client';

export type { ApiKey };

export type ApiKeyWithTenant = ApiKey & { tenant: { id: string; slug: string; name: string } };

export interface NewApiKey {
  tenantId: string;
  name: string;
  prefix: string;
  keyHash: string;
  scopes: string[];
  active?: boolean;
  expiresAt?: Date | null;
  monthlyExecutionLimit?: number | null;
  rateLimitBurst?: number | null;
  rateLimitRefillPerSecond?: number | null;
  webhookUrl?: string | null;
  webhookEvents?: string[];
  webhookSecretEnc?: string | null;
}

export type ApiKeyChanges = Partial<Omit<NewApiKey, 'tenantId' | 'prefix' | 'keyHash'>>;

@Injectable()
export class ApiKeyRepository {
  constructor(private readonly db: Database) {}

  create(data: NewApiKey): Promise<ApiKey> {
    return this.db.prisma.apiKey.create({ data });
  }

  /** The bootstrap admin key: created or re-activated, never duplicated. */
  upsertByHash(data: NewApiKey): Promise<ApiKey> {
    const { tenantId, keyHash, ...rest } = data;
    return this.db.prisma.apiKey.upsert({
      where: { keyHash },
      create: { tenantId, keyHash, ...rest },
      update: { scopes: rest.scopes, active: true, revokedAt: null },
    });
  }

  findByHash(keyHash: string): Promise<ApiKeyWithTenant | null> {
    return this.db.prisma.apiKey.findUnique({
      where: { keyHash },
      include: { tenant: { select: { id: true, slug: true, name: true } } },
    });
  }

  list(tenantId: string | null, page: { limit: number; offset: number }): Promise<{ items: ApiKey[]; total: number }> {
    const where: Prisma.ApiKeyWhereInput = { revokedAt: null, ...(tenantId ? { tenantId } : {}) };
    return this.db.prisma
      .$transaction([
        this.db.prisma.apiKey.findMany({ where, orderBy: { createdAt: 'asc' }, take: page.limit, skip: page.offset }),
        this.db.prisma.apiKey.count({ where }),
      ])
      .then(([items, total]) => ({ items, total }));
  }

  /** `tenantId` null means any tenant (admin); otherwise the key must belong to it. */
  findById(tenantId: string | null, id: string): Promise<ApiKey | null> {
    return this.db.prisma.apiKey.findFirst({ where: { id, revokedAt: null, ...(tenantId ? { tenantId } : {}) } });
  }

  async update(tenantId: string | null, id: string, changes: ApiKeyChanges): Promise<ApiKey | null> {
    const result = await this.db.prisma.apiKey.updateMany({
      where: { id, revokedAt: null, ...(tenantId ? { tenantId } : {}) },
      data: changes,
    });
    return result.count === 0 ? null : this.findById(tenantId, id);
  }

  async revoke(tenantId: string | null, id: string): Promise<ApiKey | null> {
    const found = await this.findById(tenantId, id);
    if (!found) return null;
    return this.db.prisma.apiKey.update({ where: { id }, data: { revokedAt: new Date(), active: false } });
  }
}

import { Injectable } from '@nestjs/common';
import { Database } from './database';
import type { Tenant } from './generated/prisma/client';

export type { Tenant };

/** null puts a limit back to the installation default. */
export type TenantLimitChanges = Partial<Pick<Tenant, 'name' | 'concurrencyLimit' | 'hourlyExecutionLimit' | 'dailyExecutionLimit'>>;

@Injectable()
export class TenantRepository {
  constructor(private readonly db: Database) {}

  create(data: { name: string; slug: string; webhookSecretEnc: string }): Promise<Tenant> {
    return this.db.prisma.tenant.create({ data });
  }

  /** Creates the tenant when missing; never changes an existing one. */
  async ensure(data: { name: string; slug: string; webhookSecretEnc: string }): Promise<Tenant> {
    return this.db.prisma.tenant.upsert({ where: { slug: data.slug }, create: data, update: {} });
  }

  async list(page: { limit: number; offset: number }): Promise<{ items: Tenant[]; total: number }> {
    const [items, total] = await Promise.all([
      this.db.prisma.tenant.findMany({ orderBy: { createdAt: 'asc' }, take: page.limit, skip: page.offset }),
      this.db.prisma.tenant.count(),
    ]);
    return { items, total };
  }

  findById(id: string): Promise<Tenant | null> {
    return this.db.prisma.tenant.findUnique({ where: { id } });
  }

  findBySlug(slug: string): Promise<Tenant | null> {
    return this.db.prisma.tenant.findUnique({ where: { slug } });
  }

  /** null when there is no such tenant. */
  async updateLimits(id: string, changes: TenantLimitChanges): Promise<Tenant | null> {
    const { count } = await this.db.prisma.tenant.updateMany({ where: { id }, data: changes });
    return count === 0 ? null : this.findById(id);
  }
}

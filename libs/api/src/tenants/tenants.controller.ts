import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { isUniqueViolation, TenantRepository, type Tenant } from '@kiln/db';
import { KilnError } from '@kiln/core';
import { z } from 'zod';
import { RequireScopes } from '../auth/auth.decorators';
import { ZodPipe } from '../http/zod-body.pipe';
import { pageQuery, type PageQuery } from '../http/page-query';
import { uuidParam } from '../http/uuid-param';
import { TenantLimits } from '../limits/tenant-limits';
import { updateTenantBody, type UpdateTenantBody } from '../limits/tenant-limits.dto';
import { TenantProvisioner } from './tenant-provisioner';

const createTenantBody = z.object({
  name: z.string().trim().min(1).max(200),
  slug: z
    .string()
    .regex(/^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])?$/, 'must be 3-63 lowercase letters, digits or dashes, not starting or ending with a dash'),
});

export function tenantView(t: Tenant) {
  return {
    id: t.id,
    name: t.name,
    slug: t.slug,
    concurrencyLimit: t.concurrencyLimit,
    hourlyExecutionLimit: t.hourlyExecutionLimit,
    dailyExecutionLimit: t.dailyExecutionLimit,
    createdAt: t.createdAt.toISOString(),
  };
}

@Controller('v1/tenants')
@RequireScopes('admin')
export class TenantsController {
  constructor(
    private readonly provisioner: TenantProvisioner,
    private readonly tenants: TenantRepository,
    private readonly tenantLimits: TenantLimits,
  ) {}

  @Post()
  @HttpCode(201)
  async create(@Body(new ZodPipe(createTenantBody)) body: z.infer<typeof createTenantBody>) {
    try {
      const { tenant, webhookSecret } = await this.provisioner.create(body.name, body.slug);
      // The default webhook secret signs per-run webhookUrl deliveries; shown once.
      return { ...tenantView(tenant), webhookSecret };
    } catch (err) {
      if (isUniqueViolation(err)) throw KilnError.conflict('TENANT_SLUG_TAKEN', `A tenant with slug '${body.slug}' already exists`, { field: 'slug' });
      throw err;
    }
  }

  @Get()
  async list(@Query(new ZodPipe(pageQuery, 'query')) page: PageQuery) {
    const { items, total } = await this.tenants.list(page);
    return { items: items.map(tenantView), total, limit: page.limit, offset: page.offset };
  }

  /** Limits take effect on every gateway and worker at once (invalidation bus). */
  @Patch(':id')
  async update(@Param('id', uuidParam('Tenant')) id: string, @Body(new ZodPipe(updateTenantBody)) body: UpdateTenantBody) {
    const updated = await this.tenants.updateLimits(id, body);
    if (!updated) throw KilnError.notFound('Tenant', id);
    await this.tenantLimits.invalidate(id);
    return tenantView(updated);
  }
}

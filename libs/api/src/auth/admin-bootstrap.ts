import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { KilnConfig } from '@kiln/config';
import { apiKeyPrefix, hashApiKey } from '@kiln/core';
import { ApiKeyRepository } from '@kiln/db';
import type { Logger } from '@kiln/observability';
import { InjectConfig, InjectLogger } from '@kiln/platform';
import { TenantProvisioner } from '../tenants/tenant-provisioner';

export const DEFAULT_TENANT_SLUG = 'default';

/**
 * SPEC §2: when KILN_ADMIN_KEY is set, start-up ensures that exact key
 * exists (hashed) with scope `admin` on tenant `default`. Safe to run from
 * several gateways at once (upserts).
 */
@Injectable()
export class AdminBootstrap implements OnApplicationBootstrap {
  constructor(
    @InjectConfig() private readonly config: KilnConfig,
    @InjectLogger() private readonly logger: Logger,
    private readonly tenants: TenantProvisioner,
    private readonly keys: ApiKeyRepository,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const adminKey = this.config.security.adminKey;
    if (!adminKey) return;
    const tenant = await this.tenants.ensure(DEFAULT_TENANT_SLUG, 'Default');
    await this.keys.upsertByHash({
      tenantId: tenant.id,
      name: 'admin (KILN_ADMIN_KEY)',
      prefix: apiKeyPrefix(adminKey),
      keyHash: hashApiKey(adminKey),
      scopes: ['admin'],
    });
    this.logger.info({ tenant: DEFAULT_TENANT_SLUG, keyPrefix: apiKeyPrefix(adminKey) }, 'admin key ensured');
  }
}

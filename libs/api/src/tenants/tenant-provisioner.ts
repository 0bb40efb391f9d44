import { Injectable } from '@nestjs/common';
import { SecretBox } from '@kiln/core';
import { TenantRepository, type Tenant } from '@kiln/db';
import { generateWebhookSecret } from '@kiln/webhooks';

/** Creates tenants with their default webhook secret (signs per-run webhookUrl deliveries). */
@Injectable()
export class TenantProvisioner {
  constructor(
    private readonly tenants: TenantRepository,
    private readonly box: SecretBox,
  ) {}

  async create(name: string, slug: string): Promise<{ tenant: Tenant; webhookSecret: string }> {
    const webhookSecret = generateWebhookSecret();
    const tenant = await this.tenants.create({ name, slug, webhookSecretEnc: this.box.seal(webhookSecret) });
    return { tenant, webhookSecret };
  }

  ensure(slug: string, name: string): Promise<Tenant> {
    return this.tenants.ensure({ name, slug, webhookSecretEnc: this.box.seal(generateWebhookSecret()) });
  }
}

import { type DynamicModule, Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { ApiKeyRepository } from './api-key.repository';
import { Database, type DatabaseOptions } from './database';
import { ExecutionRepository } from './execution.repository';
import { ScriptRepository } from './script.repository';
import { TenantRepository } from './tenant.repository';
import { UsageRepository } from './usage.repository';
import { WebhookDeliveryRepository } from './webhook-delivery.repository';
import { WebhookSubscriptionRepository } from './webhook-subscription.repository';

const REPOSITORIES = [TenantRepository, ApiKeyRepository, ScriptRepository, ExecutionRepository, UsageRepository, WebhookSubscriptionRepository, WebhookDeliveryRepository];

@Global()
@Module({})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(@Inject(Database) private readonly database: Database) {}

  static forRoot(options: DatabaseOptions): DynamicModule {
    return {
      module: DatabaseModule,
      providers: [{ provide: Database, useFactory: () => new Database(options) }, ...REPOSITORIES],
      exports: [Database, ...REPOSITORIES],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.database.close();
  }
}

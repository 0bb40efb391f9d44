import { Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { ApiKeysController } from './api-keys/api-keys.controller';
import { ApiCoreModule } from './api-core.module';
import { AdminBootstrap } from './auth/admin-bootstrap';
import { ApiKeyGuard } from './auth/api-key.guard';
import { CodeController } from './code/code.controller';
import { CompatModule } from './compat/compat.module';
import { ConsoleModule } from './console/console.module';
import { DocsController } from './docs/docs.controller';
import { EndpointsModule } from './endpoints/endpoints.module';
import { EventsModule } from './events/events.module';
import { ExecutionStepsController } from './executions/execution-steps.controller';
import { ExecutionsController } from './executions/executions.controller';
import { GatewayLifecycle } from './gateway-lifecycle';
import { HealthController } from './health/health.controller';
import { KilnExceptionFilter } from './http/kiln-exception.filter';
import { RunsController } from './runs/runs.controller';
import { ScriptsController } from './scripts/scripts.controller';
import { TenantsController } from './tenants/tenants.controller';

/** The gateway's HTTP surface. Expects PlatformModule to be imported by the root module. */
@Module({
  imports: [ApiCoreModule, EndpointsModule, EventsModule, CompatModule, ConsoleModule],
  controllers: [
    HealthController,
    DocsController,
    TenantsController,
    ApiKeysController,
    ScriptsController,
    RunsController,
    ExecutionsController,
    ExecutionStepsController,
    CodeController,
  ],
  providers: [
    { provide: APP_GUARD, useClass: ApiKeyGuard },
    { provide: APP_FILTER, useClass: KilnExceptionFilter },
    AdminBootstrap,
    GatewayLifecycle,
  ],
  exports: [ApiCoreModule],
})
export class ApiModule {}

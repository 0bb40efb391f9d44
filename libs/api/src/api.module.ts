import { forwardRef, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { ApiKeysController } from './api-keys/api-keys.controller';
import { AdminBootstrap } from './auth/admin-bootstrap';
import { ApiKeyGuard } from './auth/api-key.guard';
import { ApiKeyResolver } from './auth/api-key-resolver';
import { CodeController } from './code/code.controller';
import { CompatModule } from './compat/compat.module';
import { ConsoleModule } from './console/console.module';
import { DocsController } from './docs/docs.controller';
import { EndpointsModule } from './endpoints/endpoints.module';
import { EventsModule } from './events/events.module';
import { ExecutionControl } from './executions/execution-control';
import { ExecutionStepsController } from './executions/execution-steps.controller';
import { ExecutionsController } from './executions/executions.controller';
import { GatewayLifecycle } from './gateway-lifecycle';
import { HealthController } from './health/health.controller';
import { KilnExceptionFilter } from './http/kiln-exception.filter';
import { LimitsModule } from './limits/limits.module';
import { RunAdmission } from './runs/run-admission';
import { RunsController } from './runs/runs.controller';
import { RunsService } from './runs/runs.service';
import { ScriptCache } from './scripts/script-cache';
import { ScriptScheduler } from './scripts/script-scheduler';
import { ScriptsController } from './scripts/scripts.controller';
import { ScriptsService } from './scripts/scripts.service';
import { TenantProvisioner } from './tenants/tenant-provisioner';
import { TenantsController } from './tenants/tenants.controller';
import { WebhooksModule } from './webhooks/webhooks.module';

/** The gateway's HTTP surface. Expects PlatformModule to be imported by the root module. */
@Module({
  imports: [LimitsModule, WebhooksModule, forwardRef(() => EndpointsModule), forwardRef(() => EventsModule), forwardRef(() => CompatModule), forwardRef(() => ConsoleModule)],
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
    ApiKeyResolver,
    AdminBootstrap,
    TenantProvisioner,
    ScriptsService,
    ScriptCache,
    ScriptScheduler,
    RunsService,
    RunAdmission,
    ExecutionControl,
    GatewayLifecycle,
  ],
  exports: [RunsService, RunAdmission, ExecutionControl, ScriptCache, ScriptsService, ApiKeyResolver],
})
export class ApiModule {}

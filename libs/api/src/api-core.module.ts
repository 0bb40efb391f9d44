import { Module } from '@nestjs/common';
import { ApiKeyResolver } from './auth/api-key-resolver';
import { ExecutionControl } from './executions/execution-control';
import { LimitsModule } from './limits/limits.module';
import { RunAdmission } from './runs/run-admission';
import { RunBackpressure } from './runs/run-backpressure';
import { RunsService } from './runs/runs.service';
import { ScriptCache } from './scripts/script-cache';
import { ScriptScheduler } from './scripts/script-scheduler';
import { ScriptsService } from './scripts/scripts.service';
import { TenantProvisioner } from './tenants/tenant-provisioner';
import { WebhooksModule } from './webhooks/webhooks.module';

const SERVICES = [ApiKeyResolver, TenantProvisioner, ScriptsService, ScriptCache, ScriptScheduler, RunsService, RunAdmission, RunBackpressure, ExecutionControl];

/**
 * The services every HTTP surface shares (keys, scripts, runs, execution
 * control, limits, webhook dispatch). The native API, the endpoints, events,
 * compatibility and console modules all import this one module, so none of
 * them needs the others and the module graph has no cycles.
 */
@Module({
  imports: [LimitsModule, WebhooksModule],
  providers: SERVICES,
  exports: [LimitsModule, WebhooksModule, ...SERVICES],
})
export class ApiCoreModule {}

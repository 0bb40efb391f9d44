import { Module } from '@nestjs/common';
import type { KilnConfig } from '@kiln/config';
import type { Logger } from '@kiln/observability';
import { KILN_CONFIG, LOGGER } from '@kiln/platform';
import { SandboxPool } from '@kiln/sandbox';
import { ExecutionRetention } from './execution-retention';
import { ExecutionRunner } from './execution-runner';
import { ExecutionWorker } from './execution-worker';
import { EventPublisher } from './event-publisher';
import { HostCapabilities } from './host-capabilities';
import { PendingReconciler } from './pending-reconciler';
import { ScriptCacheStore } from './script-cache-store';
import { ScriptOutbound } from './script-outbound';
import { TriggerJobs } from './trigger-jobs';
import { createSandboxPool } from './sandbox.provider';
import { TenantConcurrencyGate } from './tenant-concurrency-gate';

/** The worker's job: consume `executions` and run them. Expects PlatformModule in the root module. */
@Module({
  providers: [
    { provide: SandboxPool, inject: [KILN_CONFIG, LOGGER], useFactory: (config: KilnConfig, logger: Logger) => createSandboxPool(config, logger) },
    HostCapabilities,
    ScriptOutbound,
    ScriptCacheStore,
    EventPublisher,
    TriggerJobs,
    ExecutionRunner,
    TenantConcurrencyGate,
    ExecutionWorker,
    ExecutionRetention,
    PendingReconciler,
  ],
  exports: [SandboxPool, PendingReconciler],
})
export class RunnerModule {}

import { Module } from '@nestjs/common';
import type { KilnConfig } from '@kiln/config';
import type { Logger } from '@kiln/observability';
import { KILN_CONFIG, LOGGER } from '@kiln/platform';
import { SandboxPool } from '@kiln/sandbox';
import { ExecutionRunner } from './execution-runner';
import { ExecutionWorker } from './execution-worker';
import { HostCapabilities } from './host-capabilities';
import { createSandboxPool } from './sandbox.provider';

/** The worker's job: consume `executions` and run them. Expects PlatformModule in the root module. */
@Module({
  providers: [
    { provide: SandboxPool, inject: [KILN_CONFIG, LOGGER], useFactory: (config: KilnConfig, logger: Logger) => createSandboxPool(config, logger) },
    HostCapabilities,
    ExecutionRunner,
    ExecutionWorker,
  ],
  exports: [SandboxPool],
})
export class RunnerModule {}

import type { KilnConfig } from '@kiln/config';
import type { Logger } from '@kiln/observability';
import { SandboxPool } from '@kiln/sandbox';

export function createSandboxPool(config: KilnConfig, logger: Logger): SandboxPool {
  return new SandboxPool({
    processes: config.worker.sandboxProcesses,
    runsPerProcess: config.worker.sandboxRunsPerProcess,
    logger: logger.child({ component: 'sandbox' }),
  });
}

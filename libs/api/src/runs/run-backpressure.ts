import { Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { KilnConfig } from '@kiln/config';
import { KilnError } from '@kiln/core';
import { type Counter, type Logger, Registry, registeredCounter } from '@kiln/observability';
import { InjectConfig, InjectLogger } from '@kiln/platform';
import { ExecutionQueue } from '@kiln/queue';
import { QueueBacklog } from './queue-backlog';

/** How often a gateway reads the queue's backlog (one script call: LINDEX, HGET, HEXISTS). */
const POLL_MS = 100;

/**
 * Backpressure for new runs (KILN_QUEUE_MAX_WAIT_MS): while the oldest job
 * in the executions queue has waited that long, a new run is held before
 * anything is written, and goes on as soon as the workers have caught up; after
 * KILN_QUEUE_HOLD_MAX_MS it is refused with 503 QUEUE_FULL and Retry-After.
 * Accepting runs faster than the workers finish them only grows the backlog
 * (and every run's queueing time); on a machine the gateway shares with the
 * workers it also takes the CPU they need. See docs/limits.md.
 */
@Injectable()
export class RunBackpressure implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly backlog: QueueBacklog;
  private timer: NodeJS.Timeout | undefined;
  private readonly held: Counter;
  private readonly refused: Counter;

  constructor(
    @InjectConfig() private readonly config: KilnConfig,
    @InjectLogger() private readonly logger: Logger,
    private readonly queue: ExecutionQueue,
    registry: Registry,
  ) {
    this.backlog = new QueueBacklog({ maxWaitMs: config.runs.queueMaxWaitMs, maxHoldMs: config.runs.queueHoldMaxMs });
    this.held = registeredCounter(registry, { name: 'kiln_runs_held_total', help: 'Runs held by backpressure because the oldest waiting job had waited KILN_QUEUE_MAX_WAIT_MS' });
    this.refused = registeredCounter(registry, { name: 'kiln_runs_refused_queue_full_total', help: 'Runs refused with 503 QUEUE_FULL after KILN_QUEUE_HOLD_MAX_MS of backpressure' });
  }

  onApplicationBootstrap(): void {
    if (!this.backlog.enabled) return;
    const poll = (): void => {
      this.queue
        .backlog()
        .then(({ oldestWaitingAt, paused }) =>
          this.backlog.update({ oldestWaitMs: oldestWaitingAt === null ? 0 : Math.max(0, Date.now() - oldestWaitingAt), paused }),
        )
        // Without a reading the last one stands; the enqueue itself reports an unreachable Redis.
        .catch((err: unknown) => this.logger.debug({ err }, 'could not read the queue backlog'))
        .finally(() => {
          if (this.timer) this.timer = setTimeout(poll, POLL_MS).unref();
        });
    };
    this.timer = setTimeout(poll, 0).unref();
  }

  onApplicationShutdown(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.backlog.releaseAll();
  }

  /** Whether a run arriving now would be held. */
  get wouldHold(): boolean {
    return this.backlog.full;
  }

  /** Resolves when a new run may be accepted; throws 503 QUEUE_FULL when it waited too long. */
  async admit(): Promise<void> {
    const admission = await this.backlog.admit();
    if (admission.heldMs > 0 || !admission.admitted) this.held.inc();
    if (admission.admitted) return;
    this.refused.inc();
    const retryAfter = Math.max(1, Math.ceil(this.config.runs.queueHoldMaxMs / 1000));
    throw new KilnError(503, 'QUEUE_FULL', `The run queue is full (its oldest run has waited over KILN_QUEUE_MAX_WAIT_MS = ${this.config.runs.queueMaxWaitMs} ms) and did not drain within ${this.config.runs.queueHoldMaxMs} ms; nothing was started, retry later`, { retryAfter });
  }
}

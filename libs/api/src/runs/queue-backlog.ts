/**
 * Backpressure on the queue's backlog, as pure logic: RunBackpressure feeds
 * it readings of the executions queue and asks it whether a new run may be
 * accepted now. The measure is time, not length: how long the oldest waiting
 * job has waited, which is what a caller feels and does not depend on how
 * many runs share a job or how many workers there are. A request that
 * arrives while that is at `maxWaitMs` is held until a reading below it
 * (closed-loop clients slow down to the pace the workers keep); one held for
 * `maxHoldMs` in vain is refused. A paused queue has no backpressure: nobody
 * is meant to consume it, so its backlog is the operator's choice.
 */
export interface BacklogReading {
  /** How long the oldest job still waiting has waited (0: none waits). */
  oldestWaitMs: number;
  paused: boolean;
}

export type Admission = { admitted: boolean; heldMs: number };

interface Waiter {
  since: number;
  resolve(admission: Admission): void;
  timer: NodeJS.Timeout;
}

export class QueueBacklog {
  private latest: BacklogReading = { oldestWaitMs: 0, paused: false };
  private readonly waiters = new Set<Waiter>();

  constructor(
    private readonly options: { maxWaitMs: number; maxHoldMs: number },
    private readonly now: () => number = Date.now,
  ) {}

  get enabled(): boolean {
    return this.options.maxWaitMs > 0;
  }

  get holding(): number {
    return this.waiters.size;
  }

  /** A run arriving now would be held. */
  get full(): boolean {
    return this.enabled && !this.latest.paused && this.latest.oldestWaitMs >= this.options.maxWaitMs;
  }

  /** A new reading; when it is below the mark, every held request goes on. */
  update(reading: BacklogReading): void {
    this.latest = reading;
    if (this.full) return;
    for (const waiter of [...this.waiters]) this.settle(waiter, true);
  }

  admit(): Promise<Admission> {
    if (!this.full) return Promise.resolve({ admitted: true, heldMs: 0 });
    return new Promise<Admission>((resolve) => {
      const waiter: Waiter = {
        since: this.now(),
        resolve,
        timer: setTimeout(() => this.settle(waiter, false), this.options.maxHoldMs),
      };
      this.waiters.add(waiter);
    });
  }

  /** Lets every held request go (shutdown): they are admitted rather than dropped. */
  releaseAll(): void {
    for (const waiter of [...this.waiters]) this.settle(waiter, true);
  }

  private settle(waiter: Waiter, admitted: boolean): void {
    if (!this.waiters.delete(waiter)) return;
    clearTimeout(waiter.timer);
    waiter.resolve({ admitted, heldMs: this.now() - waiter.since });
  }
}

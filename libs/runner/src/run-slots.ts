/**
 * Bounds the runs one worker has between "taken from the queue" and "done".
 * BullMQ's concurrency counts jobs, and a batch job carries several runs:
 * without this bound a worker would claim every run of every batch it holds
 * and show them `running` while they wait for a sandbox.
 */
export class RunSlots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be an integer ≥ 1');
    this.free = capacity;
  }

  get inUse(): number {
    return this.capacity - this.free;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Resolves with a release function once a slot is free (FIFO); calling release twice frees one slot. */
  async acquire(): Promise<() => void> {
    if (this.free > 0) {
      this.free -= 1;
    } else {
      // The releaser hands its slot straight to us, so `free` stays at 0.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.free += 1;
    };
  }
}

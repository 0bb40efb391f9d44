/**
 * Counts events in the last `windowMs` for one execution (sdk.http's
 * "60 requests per minute"). Per execution, in the worker's memory: an
 * execution runs on one worker at a time, so there is nothing to share.
 */
export class SlidingWindow {
  private readonly stamps: number[] = [];

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes a slot and returns true, or returns false (taking nothing) when the window is full. */
  tryTake(): boolean {
    const now = this.now();
    while (this.stamps.length > 0 && (this.stamps[0] as number) <= now - this.windowMs) this.stamps.shift();
    if (this.stamps.length >= this.limit) return false;
    this.stamps.push(now);
    return true;
  }

  /** Milliseconds until the oldest slot frees up (0 when one is free now). */
  retryAfterMs(): number {
    if (this.stamps.length < this.limit) return 0;
    return Math.max(0, (this.stamps[0] as number) + this.windowMs - this.now());
  }
}

import CircuitBreaker from 'opossum';

export interface BreakerSettings {
  /** How long an open breaker fails fast before letting one trial through. */
  resetTimeoutMs: number;
  /** Attempts within the rolling window before the error rate can open it. */
  volumeThreshold: number;
  /** Open when more than this share of the window's attempts failed. */
  errorThresholdPercentage: number;
  rollingWindowMs: number;
  /** A closed breaker unused this long is dropped (destinations are unbounded). */
  idleEvictMs: number;
}

export const DEFAULT_BREAKER_SETTINGS: BreakerSettings = {
  resetTimeoutMs: 10_000,
  volumeThreshold: 5,
  errorThresholdPercentage: 50,
  rollingWindowMs: 10_000,
  idleEvictMs: 10 * 60_000,
};

/**
 * What a destination answered that says it is unwell (5xx, 429); thrown
 * inside the breaker so that it counts, and unwrapped by the caller.
 */
export class HostFailure extends Error {
  override readonly name = 'HostFailure';

  constructor(
    readonly statusCode: number,
    /** The start of the answer's body, for the attempt log. */
    readonly snippet: string | null = null,
  ) {
    super(`HTTP ${statusCode}`);
  }
}

/** The destination's breaker is open: nothing was sent. Retry after `retryInMs`. */
export class BreakerOpenError extends Error {
  override readonly name = 'BreakerOpenError';

  constructor(
    readonly destination: string,
    readonly retryInMs: number,
  ) {
    super(`circuit open for ${destination}`);
  }
}

type Action = () => Promise<unknown>;

interface Entry {
  breaker: CircuitBreaker<[Action], unknown>;
  openedAt: number;
  lastUsedAt: number;
}

/**
 * One opossum breaker per destination. The key is the URL's origin
 * (scheme, host and port): two services on one host are two destinations,
 * and one of them being down must not hold back the other.
 *
 * `isHostFailure` decides which errors count against a destination
 * (timeouts, refused connections, HostFailure); the rest (an SSRF refusal,
 * a malformed URL) say nothing about the host's health and are ignored.
 */
export class HostBreakers {
  private readonly entries = new Map<string, Entry>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly settings: BreakerSettings,
    private readonly isHostFailure: (error: unknown) => boolean,
    private readonly now: () => number = Date.now,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(60_000, settings.idleEvictMs));
    this.sweeper.unref();
  }

  static destinationOf(url: string): string {
    return new URL(url).origin;
  }

  /**
   * Runs `action` through the destination's breaker. Rejects with
   * BreakerOpenError without calling it while the breaker is open, or while
   * its half-open trial is still in flight.
   */
  async run<T>(destination: string, action: () => Promise<T>): Promise<T> {
    const entry = this.entry(destination);
    entry.lastUsedAt = this.now();
    try {
      return (await entry.breaker.fire(action)) as T;
    } catch (error) {
      if (isOpossumReject(error)) throw new BreakerOpenError(destination, this.retryIn(entry));
      throw error;
    }
  }

  state(destination: string): 'closed' | 'open' | 'halfOpen' {
    const breaker = this.entries.get(destination)?.breaker;
    if (!breaker || breaker.closed) return 'closed';
    return breaker.halfOpen ? 'halfOpen' : 'open';
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const entry of this.entries.values()) entry.breaker.shutdown();
    this.entries.clear();
  }

  private retryIn(entry: Entry): number {
    // Half-open: one trial is in flight and will settle within a request
    // timeout; look again soon rather than a whole reset period later.
    if (entry.breaker.halfOpen) return Math.min(1_000, this.settings.resetTimeoutMs);
    return Math.max(100, entry.openedAt + this.settings.resetTimeoutMs - this.now());
  }

  private entry(destination: string): Entry {
    const existing = this.entries.get(destination);
    if (existing) return existing;
    const breaker = new CircuitBreaker<[Action], unknown>((action) => action(), {
      name: destination,
      // The outbound client enforces the per-attempt deadline itself.
      timeout: false,
      resetTimeout: this.settings.resetTimeoutMs,
      volumeThreshold: this.settings.volumeThreshold,
      errorThresholdPercentage: this.settings.errorThresholdPercentage,
      rollingCountTimeout: this.settings.rollingWindowMs,
      errorFilter: (error: unknown) => !this.isHostFailure(error),
    });
    const entry: Entry = { breaker, openedAt: 0, lastUsedAt: this.now() };
    breaker.on('open', () => {
      entry.openedAt = this.now();
    });
    this.entries.set(destination, entry);
    return entry;
  }

  private sweep(): void {
    const cutoff = this.now() - this.settings.idleEvictMs;
    for (const [destination, entry] of this.entries) {
      if (entry.breaker.closed && entry.lastUsedAt < cutoff) {
        entry.breaker.shutdown();
        this.entries.delete(destination);
      }
    }
  }
}

function isOpossumReject(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'EOPENBREAKER';
}

/** Several messages that crossed the channel as one; the receiver handles them in order. */
export interface BatchMessage<T> {
  t: 'batch';
  messages: T[];
}

/**
 * What the sandbox channels use: under load messages come closer together
 * than this and are coalesced; a lone run in wait mode (measured: 0.1 ms of
 * its p50 on a 2-core machine) goes out at once.
 */
export const OUTBOX_IDLE_MS = 1;

export interface OutboxOptions {
  /** Defers a flush to later in this event-loop turn (setImmediate). */
  schedule?: (flush: () => void) => void;
  /**
   * A message pushed when nothing went out for this long is sent at once,
   * without waiting for the rest of the turn: an idle channel has no burst
   * to wait for, and a run in wait mode has a caller waiting. 0: never.
   */
  idleMs?: number;
  now?: () => number;
}

/**
 * Coalesces the messages produced in one turn of the event loop into one IPC
 * send: every `process.send` is a serialization, a write and a wake-up of the
 * other side, and at full load runs finish (and start) in bursts. A lone
 * message goes out as itself, so an idle pool pays nothing extra; with
 * `idleMs`, one that follows a quiet spell does not even wait for the end of
 * the turn. Order is kept; `flush()` sends what is pending at once.
 */
export class Outbox<T> {
  private pending: T[] = [];
  private scheduled = false;
  private lastSentAt = -Infinity;
  private readonly schedule: (flush: () => void) => void;
  private readonly idleMs: number;
  private readonly now: () => number;

  constructor(
    private readonly deliver: (message: T | BatchMessage<T>) => void,
    options: OutboxOptions = {},
  ) {
    this.schedule = options.schedule ?? ((flush) => setImmediate(flush));
    this.idleMs = options.idleMs ?? 0;
    this.now = options.now ?? (() => performance.now());
  }

  get size(): number {
    return this.pending.length;
  }

  push(message: T): void {
    this.pending.push(message);
    if (this.scheduled) return;
    if (this.idleMs > 0 && this.now() - this.lastSentAt >= this.idleMs) {
      this.flush();
      return;
    }
    this.scheduled = true;
    this.schedule(() => this.flush());
  }

  flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    this.lastSentAt = this.now();
    this.deliver(batch.length === 1 ? (batch[0] as T) : { t: 'batch', messages: batch });
  }
}

/** The messages a raw IPC value stands for: the members of a batch, or the value itself. */
export function unbatch(raw: unknown): unknown[] {
  if (typeof raw === 'object' && raw !== null && (raw as { t?: unknown }).t === 'batch') {
    const { messages } = raw as { messages?: unknown };
    return Array.isArray(messages) ? messages : [];
  }
  return [raw];
}

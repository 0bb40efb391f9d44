/** Several messages that crossed the channel as one; the receiver handles them in order. */
export interface BatchMessage<T> {
  t: 'batch';
  messages: T[];
}

/**
 * Coalesces the messages produced in one turn of the event loop into one IPC
 * send: every `process.send` is a serialization, a write and a wake-up of the
 * other side, and at full load runs finish (and start) in bursts. A lone
 * message goes out as itself, so an idle pool pays nothing extra. Order is
 * kept; `flush()` sends what is pending at once.
 */
export class Outbox<T> {
  private pending: T[] = [];
  private scheduled = false;

  constructor(
    private readonly deliver: (message: T | BatchMessage<T>) => void,
    private readonly schedule: (flush: () => void) => void = (flush) => setImmediate(flush),
  ) {}

  get size(): number {
    return this.pending.length;
  }

  push(message: T): void {
    this.pending.push(message);
    if (this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => this.flush());
  }

  flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
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

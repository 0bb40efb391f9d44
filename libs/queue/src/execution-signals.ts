import type { Redis } from 'ioredis';
import { CommandCoalescer } from './command-coalescer';
import type { ExecutionCancelMessage, ExecutionDoneMessage } from './contracts';

type Waiter = (message: ExecutionDoneMessage) => void;

/** What a finished run announces: an ExecutionDoneMessage whose view is already JSON. */
export interface DoneSignal {
  executionId: string;
  status: string;
  /** JSON of the execution view; it must be valid JSON (it is spliced into the message as is). */
  viewJson?: string;
}

/**
 * Redis pub/sub between workers and gateways: "this execution finished"
 * (wait mode answers at once, without polling PostgreSQL) and "cancel this
 * execution" (whichever worker runs it kills the isolate).
 */
export class ExecutionSignals {
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly cancelHandlers = new Set<(executionId: string) => void>();
  private readonly doneChannel: string;
  private readonly cancelChannel: string;
  private readonly subscribed = new Set<string>();

  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    prefix: string,
  ) {
    this.doneChannel = `${prefix}:executions:done`;
    this.cancelChannel = `${prefix}:executions:cancel`;
    subscriber.on('message', (channel: string, raw: string) => this.dispatch(channel, raw));
  }

  /** Subscribe (idempotent); gateways want `done`, workers want `cancel`. */
  async listen(channels: { done?: boolean; cancel?: boolean }): Promise<void> {
    const wanted = [channels.done ? this.doneChannel : null, channels.cancel ? this.cancelChannel : null].filter(
      (c): c is string => c !== null && !this.subscribed.has(c),
    );
    if (wanted.length === 0) return;
    await this.subscriber.subscribe(...wanted);
    for (const channel of wanted) this.subscribed.add(channel);
  }

  /**
   * `<executionId> <json>`: every gateway receives every message, and most
   * have nobody waiting for that execution; the id in front lets them drop
   * it without parsing a view of up to 64 KiB. Runs that end together share
   * one write to Redis (CommandCoalescer), and so do the Redis commands
   * `alongWith` issues synchronously on the same connection.
   */
  async publishDone(message: DoneSignal, alongWith?: () => Promise<unknown>): Promise<void> {
    const coalescer = CommandCoalescer.for(this.publisher);
    // The view arrives serialized (the worker measured it that way): spliced in, not stringified twice.
    const view = message.viewJson === undefined ? '' : `,"view":${message.viewJson}`;
    const payload = `${message.executionId} {"executionId":${JSON.stringify(message.executionId)},"status":${JSON.stringify(message.status)}${view}}`;
    // `alongWith`'s Redis calls on this connection (a tenant-slot release) share the signal's write.
    await coalescer.together(() => Promise.all([coalescer.call('publish', this.doneChannel, payload), alongWith?.()]));
  }

  async publishCancel(executionId: string): Promise<void> {
    const message: ExecutionCancelMessage = { executionId };
    await this.publisher.publish(this.cancelChannel, JSON.stringify(message));
  }

  onCancel(handler: (executionId: string) => void): () => void {
    this.cancelHandlers.add(handler);
    return () => this.cancelHandlers.delete(handler);
  }

  /**
   * Resolves with the done message, or null after `timeoutMs`. Register the
   * wait before enqueueing the run, so a fast run cannot finish unseen.
   */
  waitFor(executionId: string, timeoutMs: number): { promise: Promise<ExecutionDoneMessage | null>; cancel: () => void } {
    let settle: (value: ExecutionDoneMessage | null) => void = () => undefined;
    const promise = new Promise<ExecutionDoneMessage | null>((resolve) => {
      settle = resolve;
    });
    const waiter: Waiter = (message) => finish(message);
    const timer = setTimeout(() => finish(null), Math.max(0, timeoutMs));
    const finish = (value: ExecutionDoneMessage | null) => {
      clearTimeout(timer);
      const set = this.waiters.get(executionId);
      set?.delete(waiter);
      if (set && set.size === 0) this.waiters.delete(executionId);
      settle(value);
    };
    let set = this.waiters.get(executionId);
    if (!set) {
      set = new Set();
      this.waiters.set(executionId, set);
    }
    set.add(waiter);
    return { promise, cancel: () => finish(null) };
  }

  get pendingWaits(): number {
    return this.waiters.size;
  }

  private dispatch(channel: string, raw: string): void {
    if (channel === this.doneChannel) {
      const space = raw.indexOf(' ');
      const set = space > 0 ? this.waiters.get(raw.slice(0, space)) : undefined;
      if (!set) return;
      const done = parse<ExecutionDoneMessage>(raw.slice(space + 1));
      if (done) for (const waiter of [...set]) waiter(done);
    } else if (channel === this.cancelChannel) {
      const message = parse<ExecutionCancelMessage>(raw);
      if (message) for (const handler of this.cancelHandlers) handler(message.executionId);
    }
  }
}

function parse<T>(raw: string): T | null {
  try {
    return JSON.parse(raw) as T;
  } catch {
    return null;
  }
}

import { ByteBudgetLru } from '@kiln/core';

/**
 * Which immutable sources (script versions) one sandbox child holds, kept by
 * the pool. A run of a source the child holds crosses the channel as its key
 * alone: a bundled script of a few hundred KiB otherwise costs a copy, a
 * serialization and a chain of pipe writes on every run (measured on a
 * 2-core machine with a 233 KiB script: 3–5 ms of CPU and 1–2 ms of
 * wait-mode latency per run, worker and child together).
 *
 * The child never evicts on its own: the pool decides, and the next run
 * message tells the child what to forget, so both sides always agree.
 */
export class SourceLedger {
  /** The keys the child holds (UTF-16 bytes each); the value says nothing. */
  private readonly held: ByteBudgetLru<true>;

  constructor(maxBytes: number) {
    this.held = new ByteBudgetLru(maxBytes);
  }

  /**
   * What the run message for `key` must carry: the source itself when the
   * child does not hold it (it then keeps it), and the keys it must drop.
   * A source larger than the whole budget is sent every time and never kept.
   */
  plan(key: string, source: string): { sendSource: boolean; keep: boolean; forget: string[] } {
    if (this.held.get(key)) return { sendSource: false, keep: false, forget: [] };
    const forget = this.held.set(key, true, source.length * 2);
    return forget === false ? { sendSource: true, keep: false, forget: [] } : { sendSource: true, keep: true, forget };
  }

  /** The child reported it lacks `key` (it should never happen): send it again next time. */
  drop(key: string): void {
    this.held.delete(key);
  }

  get heldBytes(): number {
    return this.held.bytes;
  }

  get size(): number {
    return this.held.size;
  }
}

/** The child's side: the sources the pool told it to keep, by key. */
export class SourceStore {
  private readonly sources = new Map<string, string>();

  /**
   * Applies a run message's `forget` and `keep`, and answers the run's
   * source: the one it carries, or the kept one for its key (undefined when
   * the child does not hold it).
   */
  resolve(message: { source?: string; sourceKey?: string; keepSource?: boolean; forgetSources?: string[] }): string | undefined {
    for (const key of message.forgetSources ?? []) this.sources.delete(key);
    if (typeof message.source === 'string') {
      if (message.keepSource && message.sourceKey) this.sources.set(message.sourceKey, message.source);
      return message.source;
    }
    return message.sourceKey ? this.sources.get(message.sourceKey) : undefined;
  }

  get size(): number {
    return this.sources.size;
  }
}

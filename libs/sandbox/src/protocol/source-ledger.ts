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
  /** key → bytes, oldest use first. */
  private readonly held = new Map<string, number>();
  private bytes = 0;
  private readonly forgotten: string[] = [];

  constructor(private readonly maxBytes: number) {}

  /**
   * What the run message for `key` must carry: the source itself when the
   * child does not hold it (it then keeps it), and the keys it must drop.
   * A source larger than the whole budget is sent every time and never kept.
   */
  plan(key: string, source: string): { sendSource: boolean; keep: boolean; forget: string[] } {
    const size = source.length * 2;
    const known = this.held.get(key);
    if (known !== undefined) {
      this.held.delete(key);
      this.held.set(key, known);
      return { sendSource: false, keep: false, forget: this.takeForgotten() };
    }
    if (size > this.maxBytes) return { sendSource: true, keep: false, forget: this.takeForgotten() };
    this.held.set(key, size);
    this.bytes += size;
    for (const [oldest, oldestSize] of this.held) {
      if (this.bytes <= this.maxBytes) break;
      this.held.delete(oldest);
      this.bytes -= oldestSize;
      this.forgotten.push(oldest);
    }
    return { sendSource: true, keep: true, forget: this.takeForgotten() };
  }

  /** The child reported it lacks `key` (it should never happen): send it again next time. */
  drop(key: string): void {
    const size = this.held.get(key);
    if (size === undefined) return;
    this.held.delete(key);
    this.bytes -= size;
  }

  get heldBytes(): number {
    return this.bytes;
  }

  get size(): number {
    return this.held.size;
  }

  private takeForgotten(): string[] {
    return this.forgotten.length === 0 ? [] : this.forgotten.splice(0);
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

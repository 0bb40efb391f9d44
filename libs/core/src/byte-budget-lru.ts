/**
 * Entries kept by most recent use within a byte budget (the caller says what
 * each entry weighs). An entry heavier than the whole budget is never kept.
 * Map order is the recency order: a use moves the key to the end.
 */
export class ByteBudgetLru<V> {
  private readonly entries = new Map<string, { value: V; bytes: number }>();
  private total = 0;

  constructor(private readonly maxBytes: number) {}

  /** The value, now the most recently used; undefined when not kept. */
  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /**
   * Keeps `value` as the most recently used (replacing what `key` held) and
   * returns the keys pushed out to make room. False when it is heavier than
   * the whole budget: nothing is kept and nothing pushed out.
   */
  set(key: string, value: V, bytes: number): string[] | false {
    if (bytes > this.maxBytes) return false;
    this.delete(key);
    this.entries.set(key, { value, bytes });
    this.total += bytes;
    const evicted: string[] = [];
    for (const [oldest, entry] of this.entries) {
      if (this.total <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.total -= entry.bytes;
      evicted.push(oldest);
    }
    return evicted;
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.total -= entry.bytes;
  }

  get bytes(): number {
    return this.total;
  }

  get size(): number {
    return this.entries.size;
  }
}

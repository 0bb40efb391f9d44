interface Entry<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
}

export interface GroupCommitOptions {
  maxBatch: number;
  maxInFlight: number;
  /**
   * When a batch's flush fails, send its items again one at a time, so only
   * the items that fail alone get the error. For flushes that are one
   * transaction (nothing of a failed batch was written): one bad value, or a
   * deadlock with another batch, then fails only its own caller.
   */
  isolateFailures?: boolean;
}

/**
 * Group commit: concurrent callers each submit one item; items that arrive
 * while a batch is in flight are sent together as the next batch. An idle
 * caller is flushed at once (no timer, no added latency); under load one
 * statement (one transaction, one round trip) carries many items.
 */
export class GroupCommit<I, O> {
  private readonly waiting: Entry<I, O>[] = [];
  private inFlight = 0;
  private holds = 0;

  constructor(
    /** Must return one result per item, in order. */
    private readonly flush: (items: I[]) => Promise<O[]>,
    private readonly options: GroupCommitOptions,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.drain();
    });
  }

  /**
   * Until the returned function is called, submitted items wait instead of
   * going out at once: items a caller submits together (in one tick) then
   * leave in one batch, even when nothing else is in flight.
   */
  hold(): () => void {
    this.holds += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds -= 1;
      this.drain();
    };
  }

  private drain(): void {
    while (this.holds === 0 && this.inFlight < this.options.maxInFlight && this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.options.maxBatch);
      this.inFlight += 1;
      void this.send(batch).finally(() => {
        this.inFlight -= 1;
        this.drain();
      });
    }
  }

  private async send(batch: Entry<I, O>[]): Promise<void> {
    try {
      const results = await this.flush(batch.map((entry) => entry.item));
      if (results.length !== batch.length) throw new Error(`group commit: ${results.length} results for ${batch.length} items`);
      batch.forEach((entry, i) => entry.resolve(results[i] as O));
    } catch (error) {
      if (!this.options.isolateFailures || batch.length === 1) {
        for (const entry of batch) entry.reject(error);
        return;
      }
      // One after the other: sent at once, the same items could meet the same deadlock again.
      for (const entry of batch) {
        try {
          const [result] = await this.flush([entry.item]);
          entry.resolve(result as O);
        } catch (itemError) {
          entry.reject(itemError);
        }
      }
    }
  }
}

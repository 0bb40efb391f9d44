/**
 * Group commit: concurrent callers each submit one item; items that arrive
 * while a batch is in flight are sent together as the next batch. An idle
 * caller is flushed at once (no timer, no added latency); under load one
 * statement (one transaction, one round trip) carries many items.
 */
export class GroupCommit<I, O> {
  private readonly waiting: { item: I; resolve: (value: O) => void; reject: (error: unknown) => void }[] = [];
  private inFlight = 0;

  constructor(
    /** Must return one result per item, in order. */
    private readonly flush: (items: I[]) => Promise<O[]>,
    private readonly options: { maxBatch: number; maxInFlight: number },
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.drain();
    });
  }

  private drain(): void {
    while (this.inFlight < this.options.maxInFlight && this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.options.maxBatch);
      this.inFlight += 1;
      this.flush(batch.map((entry) => entry.item))
        .then(
          (results) => {
            if (results.length !== batch.length) throw new Error(`group commit: ${results.length} results for ${batch.length} items`);
            batch.forEach((entry, i) => entry.resolve(results[i] as O));
          },
          (error: unknown) => {
            for (const entry of batch) entry.reject(error);
          },
        )
        .catch((error: unknown) => {
          for (const entry of batch) entry.reject(error);
        })
        .finally(() => {
          this.inFlight -= 1;
          this.drain();
        });
    }
  }
}

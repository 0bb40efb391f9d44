/**
 * Group commit: concurrent callers each submit one item; items that arrive
 * while a batch is in flight are sent together as the next batch. An idle
 * caller is flushed at once (no timer, no added latency); under load one
 * statement (one transaction, one round trip) carries many items.
 */
export class GroupCommit<I, O> {
  private readonly waiting: { item: I; resolve: (value: O) => void; reject: (error: unknown) => void }[] = [];
  private inFlight = 0;
  private holds = 0;

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

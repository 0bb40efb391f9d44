import { ByteBudgetLru } from '@kiln/core';

/** Names a script version's source for good: versions are immutable. */
export function scriptVersionKey(scriptId: string, version: number): string {
  return `${scriptId}:${version}`;
}

/**
 * Script-version sources this worker has claimed runs of, most recently used
 * kept, within a byte budget. A run whose job names a version held here is
 * claimed without reading the source again (see ExecutionRepository.claim).
 */
export class ScriptSourceCache {
  private readonly sources: ByteBudgetLru<string>;

  constructor(maxBytes: number) {
    this.sources = new ByteBudgetLru(maxBytes);
  }

  get(scriptId: string, version: number): string | undefined {
    return this.sources.get(scriptVersionKey(scriptId, version));
  }

  set(scriptId: string, version: number, source: string): void {
    const key = scriptVersionKey(scriptId, version);
    if (!this.sources.has(key)) this.sources.set(key, source, source.length * 2);
  }

  get size(): number {
    return this.sources.size;
  }
}

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
  private readonly sources = new Map<string, string>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(scriptId: string, version: number): string | undefined {
    const key = scriptVersionKey(scriptId, version);
    const source = this.sources.get(key);
    if (source === undefined) return undefined;
    this.sources.delete(key);
    this.sources.set(key, source);
    return source;
  }

  set(scriptId: string, version: number, source: string): void {
    const key = scriptVersionKey(scriptId, version);
    const size = source.length * 2;
    if (this.sources.has(key) || size > this.maxBytes) return;
    this.sources.set(key, source);
    this.bytes += size;
    for (const [oldest, kept] of this.sources) {
      if (this.bytes <= this.maxBytes) break;
      this.sources.delete(oldest);
      this.bytes -= kept.length * 2;
    }
  }

  get size(): number {
    return this.sources.size;
  }
}

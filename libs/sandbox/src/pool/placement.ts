/**
 * Idle isolates a sandbox child keeps for reuse (its IsolateCache `maxIdle`).
 * The pool remembers as many recent isolation keys per child.
 */
export const CHILD_IDLE_ISOLATES = 32;

/** The most recently used keys, oldest dropped first. */
export class RecentKeys {
  private readonly keys = new Set<string>();

  constructor(private readonly capacity: number) {}

  note(key: string): void {
    this.keys.delete(key);
    this.keys.add(key);
    if (this.keys.size > this.capacity) {
      const oldest = this.keys.values().next();
      if (!oldest.done) this.keys.delete(oldest.value);
    }
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }
}

export interface PlacementCandidate {
  /** Runs in flight in the child. */
  load: number;
  /** Whether the child recently ran this isolation key, so it likely holds an idle isolate for it. */
  warm: boolean;
}

/**
 * Which child gets a run: the least loaded one, unless a warm one is at most
 * `slack` runs busier. A warm child reuses an isolate instead of creating one
 * and compiling the runtime into it, which costs several runs' worth of CPU;
 * the slack keeps one busy tenant from piling onto one process. Returns -1
 * when there is no candidate. Ties go to the earliest candidate.
 */
export function choosePlacement(candidates: readonly PlacementCandidate[], slack: number): number {
  let best = -1;
  let warm = -1;
  candidates.forEach((candidate, i) => {
    const bestLoad = candidates[best]?.load ?? Infinity;
    const warmLoad = candidates[warm]?.load ?? Infinity;
    if (candidate.load < bestLoad) best = i;
    if (candidate.warm && candidate.load < warmLoad) warm = i;
  });
  const bestLoad = candidates[best]?.load ?? Infinity;
  const warmLoad = candidates[warm]?.load ?? Infinity;
  return warm >= 0 && warmLoad <= bestLoad + slack ? warm : best;
}

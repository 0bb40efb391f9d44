/** Jitter spreads retries of many deliveries that failed together (a host coming back). */
const JITTER_FRACTION = 0.1;

/**
 * How long to wait before the next attempt, or null when the schedule is
 * exhausted and the delivery should be marked failed.
 *
 * `attemptsMade` counts attempts already made: 0 → the first attempt, sent at
 * once (0 ms); after failed attempt k the wait is schedule[k-1] ± at most 10 %.
 * `random` returns a value in [0, 1]; 0 gives the shortest wait, 1 the longest.
 */
export function nextRetryDelay(
  schedule: readonly number[],
  attemptsMade: number,
  random: () => number = Math.random,
): number | null {
  if (!Number.isSafeInteger(attemptsMade) || attemptsMade < 0) {
    throw new RangeError(`attemptsMade must be a non-negative integer (got ${String(attemptsMade)})`);
  }
  if (attemptsMade === 0) return 0;
  const base = schedule[attemptsMade - 1];
  if (base === undefined) return null;
  // Integer bound first, so rounding can never push the result past ±10 %.
  const maxJitter = Math.floor(base * JITTER_FRACTION);
  const r = clampUnit(random());
  return base + Math.round((2 * r - 1) * maxJitter);
}

// A misbehaving random source must not break the ±10 % guarantee.
function clampUnit(value: number): number {
  if (Number.isNaN(value)) return 0.5;
  return Math.min(1, Math.max(0, value));
}

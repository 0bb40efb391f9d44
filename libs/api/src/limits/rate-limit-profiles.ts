/**
 * A bucket profile: which token bucket a request draws from, chosen by path
 * prefix (like the error envelopes), so a compatibility surface can keep its
 * own documented limits without touching the guard.
 *
 * A key's own `rateLimit` override (POST/PATCH /v1/api-keys) wins over the
 * profile on every surface: an operator who set it meant that key.
 */
export interface RateLimitProfile {
  /** Names the bucket in Redis: each profile has its own bucket per key. */
  name: string;
  burst: number;
  refillPerSecond: number;
  /**
   * Monthly execution limit for keys that have none of their own, applied
   * to runs started on this surface (the agents document: 1000). null: the
   * key's limit only (unlimited when unset).
   */
  defaultMonthlyExecutionLimit: number | null;
}

const profiles: { prefix: string; profile: RateLimitProfile }[] = [];

/**
 * Compatibility surfaces register their bucket for their path prefix, e.g.
 * `registerRateLimitProfile('/scenarios', { name: 'scenarios', burst: 20,
 * refillPerSecond: 2, defaultMonthlyExecutionLimit: null })`. The first
 * registration of a prefix wins (config-driven ones are registered at boot).
 */
export function registerRateLimitProfile(prefix: string, profile: RateLimitProfile): void {
  if (!/^\/[^?#]*[^/]$/.test(prefix)) throw new Error(`rate limit profile prefix must start with / and not end with one: '${prefix}'`);
  if (profiles.some((p) => p.prefix === prefix)) return;
  profiles.push({ prefix, profile });
  // Longest prefix wins.
  profiles.sort((a, b) => b.prefix.length - a.prefix.length);
}

/** The profile for a request URL, or null for the native default. */
export function rateLimitProfileFor(url: string): RateLimitProfile | null {
  const path = url.split('?')[0] ?? url;
  return profiles.find((p) => path === p.prefix || path.startsWith(`${p.prefix}/`))?.profile ?? null;
}

/**
 * A request refused by its token bucket. Its body is the same on every
 * surface (SPEC §8, the agents document), so the exception filter sends it
 * as it is instead of wrapping it in the surface's error envelope.
 */
export class RateLimitExceeded extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super('Rate limit exceeded');
    this.name = 'RateLimitExceeded';
  }

  get body(): { statusCode: 429; message: 'Rate limit exceeded'; error: 'Too Many Requests'; retryAfter: number } {
    return { statusCode: 429, message: 'Rate limit exceeded', error: 'Too Many Requests', retryAfter: this.retryAfterSeconds };
  }
}

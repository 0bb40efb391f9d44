/**
 * Every failure of the outbound client carries one of these codes so callers
 * (the sandbox's `fetch`, the notifier's retry policy) can branch on a stable
 * value instead of parsing messages.
 */
export type OutboundErrorCode =
  | 'SSRF_BLOCKED'
  | 'INVALID_URL'
  | 'INVALID_REQUEST'
  | 'TIMEOUT'
  | 'RESPONSE_TOO_LARGE'
  | 'TOO_MANY_REDIRECTS'
  | 'REDIRECT_REFUSED'
  | 'CONNECTION_FAILED';

export class OutboundError extends Error {
  override readonly name = 'OutboundError';

  constructor(
    readonly code: OutboundErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}


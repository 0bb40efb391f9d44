import { OutboundError, type OutboundErrorCode } from './outbound-error';

// undici error codes that mean something other than "could not talk to the server".
const UNDICI_CODES: Readonly<Record<string, OutboundErrorCode>> = {
  UND_ERR_CONNECT_TIMEOUT: 'TIMEOUT',
  UND_ERR_HEADERS_TIMEOUT: 'TIMEOUT',
  UND_ERR_BODY_TIMEOUT: 'TIMEOUT',
  UND_ERR_RES_EXCEEDED_MAX_SIZE: 'RESPONSE_TOO_LARGE',
  UND_ERR_INVALID_ARG: 'INVALID_REQUEST',
  UND_ERR_NOT_SUPPORTED: 'INVALID_REQUEST',
  UND_ERR_REQ_CONTENT_LENGTH_MISMATCH: 'INVALID_REQUEST',
};

const WORDING: Readonly<Record<OutboundErrorCode, string>> = {
  SSRF_BLOCKED: 'was refused',
  INVALID_URL: 'has an invalid URL',
  INVALID_REQUEST: 'is invalid',
  TIMEOUT: 'timed out',
  RESPONSE_TOO_LARGE: 'returned too large a body',
  TOO_MANY_REDIRECTS: 'redirected too often',
  REDIRECT_REFUSED: 'redirected',
  CONNECTION_FAILED: 'failed',
};

function codeOf(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') return error.code;
  return undefined;
}

function messageOf(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return error.errors.map(messageOf).join('; ');
  return error instanceof Error ? error.message : String(error);
}

/**
 * Turns whatever undici or the socket layer threw into an OutboundError,
 * keeping the original as `cause`. Matching on `code` rather than on undici's
 * classes follows undici's own advice (classes differ between copies).
 * Anything unrecognised (refused, reset, TLS failure) is CONNECTION_FAILED.
 */
export function toOutboundError(error: unknown, target: string, maxResponseBytes: number): OutboundError {
  if (error instanceof OutboundError) return error;
  const undiciCode = codeOf(error);
  const code = (undiciCode === undefined ? undefined : UNDICI_CODES[undiciCode]) ?? 'CONNECTION_FAILED';
  // undici's own size limit and readCappedBody guard the same cap; whichever
  // trips first, the caller sees the same error.
  if (code === 'RESPONSE_TOO_LARGE') return responseTooLarge(maxResponseBytes, error);
  return new OutboundError(code, `Request to ${target} ${WORDING[code]}: ${messageOf(error)}`, { cause: error });
}

export function responseTooLarge(maxResponseBytes: number, cause?: unknown): OutboundError {
  return new OutboundError('RESPONSE_TOO_LARGE', `Response body exceeds ${maxResponseBytes} bytes`, { cause });
}

import { HttpException } from '@nestjs/common';
import { KilnError } from '@kiln/core';

/** A failure reduced to what every error envelope needs. */
export interface Problem {
  statusCode: number;
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

const CODE_BY_STATUS: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE_ENTITY',
  429: 'RATE_LIMITED',
  503: 'SERVICE_UNAVAILABLE',
};

interface FastifyLikeError {
  statusCode?: number;
  code?: string;
  message?: string;
}

/**
 * Maps anything thrown while serving a request to a Problem. Unknown errors
 * become a bare 500 so internals never leak; the caller logs them.
 */
export function toProblem(error: unknown, limits: { bodyLimitBytes: number }): Problem {
  if (error instanceof KilnError) {
    return { statusCode: error.statusCode, code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) };
  }
  if (error instanceof HttpException) {
    // Nest wraps Fastify's own errors (bad JSON, body too large) in an HttpException.
    const cause = (error as { cause?: FastifyLikeError }).cause;
    if (cause && typeof cause.code === 'string' && cause.code.startsWith('FST_')) return toProblem(cause, limits);
    const status = error.getStatus();
    const response = error.getResponse();
    const message =
      typeof response === 'string'
        ? response
        : typeof (response as { message?: unknown }).message === 'string'
          ? ((response as { message: string }).message)
          : error.message;
    return { statusCode: status, code: CODE_BY_STATUS[status] ?? (status >= 500 ? 'INTERNAL_ERROR' : 'BAD_REQUEST'), message };
  }
  const fastify = error as FastifyLikeError;
  switch (fastify.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { statusCode: 400, code: 'INVALID_JSON', message: `Request body is not valid JSON: ${fastify.message ?? ''}`.trim() };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        statusCode: 413,
        code: 'PAYLOAD_TOO_LARGE',
        message: `Request body exceeds the limit of ${limits.bodyLimitBytes} bytes (KILN_BODY_LIMIT_BYTES)`,
        details: { limitBytes: limits.bodyLimitBytes },
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { statusCode: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: fastify.message ?? 'Unsupported Content-Type' };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { statusCode: 400, code: 'BAD_REQUEST', message: 'Content-Length does not match the body' };
    case undefined:
    default:
      break;
  }
  if (error instanceof SyntaxError) {
    return { statusCode: 400, code: 'INVALID_JSON', message: `Request body is not valid JSON: ${error.message}` };
  }
  if (typeof fastify.statusCode === 'number' && fastify.statusCode >= 400 && fastify.statusCode < 500) {
    return { statusCode: fastify.statusCode, code: CODE_BY_STATUS[fastify.statusCode] ?? 'BAD_REQUEST', message: fastify.message ?? 'Bad request' };
  }
  if (isUnstorableText(error)) {
    return {
      statusCode: 400,
      code: 'VALIDATION_ERROR',
      message: 'A text value holds U+0000 (NUL), which PostgreSQL cannot store; remove it, or write it as an escape inside script code',
    };
  }
  return { statusCode: 500, code: 'INTERNAL_ERROR', message: 'Internal server error' };
}

/** PostgreSQL's "invalid byte sequence … 0x00" (text) and "unsupported Unicode escape sequence" (json). */
const UNSTORABLE_TEXT_CODES = new Set(['22021', '22P05']);

/**
 * What the request carried cannot be stored at all (a NUL character in a
 * name, a description, a schema): the caller's input, so 400, not 500.
 * Run inputs and outputs never get here: they are stored with U+FFFD
 * (toPostgresJson). node-pg reports the SQLSTATE as `code`; Prisma's
 * driver adapter as `meta.driverAdapterError.cause.originalCode`.
 */
function isUnstorableText(error: unknown): boolean {
  const e = error as { code?: unknown; meta?: { driverAdapterError?: { cause?: { originalCode?: unknown } } } } | null;
  if (!e || typeof e !== 'object') return false;
  const code = e.meta?.driverAdapterError?.cause?.originalCode ?? e.code;
  return typeof code === 'string' && UNSTORABLE_TEXT_CODES.has(code);
}

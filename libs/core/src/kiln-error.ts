/**
 * A failure the client caused or must know about, independent of HTTP
 * framework: the gateway maps it to `{error:{code,message,statusCode,details}}`.
 */
export class KilnError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'KilnError';
  }

  static notFound(what: string, id?: string): KilnError {
    return new KilnError(404, 'NOT_FOUND', id ? `${what} '${id}' not found` : `${what} not found`);
  }

  static conflict(code: string, message: string, details?: Record<string, unknown>): KilnError {
    return new KilnError(409, code, message, details);
  }

  static validation(fields: { field: string; message: string; [extra: string]: unknown }[], message = 'Request validation failed'): KilnError {
    return new KilnError(400, 'VALIDATION_ERROR', message, { fields });
  }

  static forbidden(message: string, code = 'FORBIDDEN'): KilnError {
    return new KilnError(403, code, message);
  }

  static unauthorized(message = 'Missing or invalid API key'): KilnError {
    return new KilnError(401, 'UNAUTHORIZED', message);
  }
}

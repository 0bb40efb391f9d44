import type { Problem } from '../../http/problem';

/** `/v2/script/run` (document 000): every answer carries `success`. */
export const API_RUN_PREFIX = '/v2/script';

export interface ApiRunError {
  message: string;
  code: string;
  statusCode: number;
  details?: Record<string, unknown>;
}

export interface ApiRunFailure {
  success: false;
  error: ApiRunError;
  executionTime?: number;
  scriptId?: string;
}

/**
 * Errors raised before or outside the run (auth, validation, body limits) in
 * the document's shape. 401 and a missing scope use the document's own words;
 * other refusals keep Kiln's precise message (inactive, expired, over quota).
 */
export function apiRunEnvelope(problem: Problem): ApiRunFailure {
  const error: ApiRunError = { message: problem.message, code: problem.code, statusCode: problem.statusCode };
  switch (problem.statusCode) {
    case 401:
      return { success: false, error: { message: 'Invalid or missing API key', code: 'UNAUTHORIZED', statusCode: 401 } };
    case 403:
      error.code = 'FORBIDDEN';
      if (problem.code === 'MISSING_SCOPE') error.message = 'Insufficient permissions';
      else error.details = { reason: problem.code };
      return { success: false, error };
    case 404:
      error.code = 'NOT_FOUND';
      return { success: false, error };
    case 429:
      // The document's own rate-limit code (its "Rate Limiting" example).
      error.code = 'RATE_LIMIT_EXCEEDED';
      break;
    default:
      break;
  }
  if (problem.details) error.details = problem.details;
  return { success: false, error };
}

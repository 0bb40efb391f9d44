import { STATUS_CODES } from 'node:http';
import type { Problem } from '../../http/problem';
import { fieldMessages } from '../compat-problem';

/** The public agents API (document 002). */
export const AGENTS_PREFIX = '/api/v1/public';

export interface AgentsError {
  message: string;
  error: string;
  statusCode: number;
}

/** Document 002 "403 Forbidden — possible reasons", in its words. */
const FORBIDDEN_MESSAGES: Record<string, string> = {
  API_KEY_INACTIVE: 'API key is inactive',
  API_KEY_EXPIRED: 'API key has expired',
  USAGE_LIMIT_EXCEEDED: 'API key usage limit exceeded',
  WORKFLOW_INACTIVE: 'Workflow is inactive',
};

/**
 * NestJS's error shape, which document 002 shows: `{message, error, statusCode}`
 * with the HTTP reason phrase as `error`. A 429 from a tenant cap gets the same
 * body as the token bucket's (SPEC §8).
 */
export function agentsEnvelope(problem: Problem): AgentsError | (AgentsError & { retryAfter: number }) {
  const statusCode = problem.statusCode;
  const error = STATUS_CODES[statusCode] ?? 'Error';
  if (statusCode === 429) {
    const retryAfter = typeof problem.details?.retryAfter === 'number' ? problem.details.retryAfter : 1;
    return { statusCode, message: 'Rate limit exceeded', error, retryAfter };
  }
  let message = problem.message;
  if (statusCode === 401) message = 'Invalid API key';
  else if (statusCode === 403) message = FORBIDDEN_MESSAGES[problem.code] ?? problem.message;
  else if (statusCode === 400) message = fieldMessages(problem, { withField: true });
  return { message, error, statusCode };
}

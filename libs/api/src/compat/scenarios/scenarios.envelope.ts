import type { Problem } from '../../http/problem';

/** The scenarios execution API (document 003). */
export const SCENARIOS_PREFIX = '/scenarios';

export interface ScenarioError {
  error: { message: string; code: string; details?: Record<string, unknown> };
}

/** Kiln codes that document 003 names differently. */
const CODES: Record<string, string> = {
  // "Input data doesn't match interface": a malformed request body is that too.
  VALIDATION_ERROR: 'INVALID_INPUT',
  INVALID_JSON: 'INVALID_INPUT',
  SCRIPT_INACTIVE: 'SCENARIO_INACTIVE',
  // The tenant's hourly/daily run caps: "Too many executions".
  RATE_LIMITED: 'RATE_LIMITED',
};

/** Document 003 "Error Response": `{error: {message, code, details}}` (no status inside; it is the HTTP status). */
export function scenariosEnvelope(problem: Problem): ScenarioError {
  const code = CODES[problem.code] ?? problem.code;
  let message = problem.message;
  if (code === 'SCENARIO_INACTIVE') message = 'Scenario is inactive';
  return { error: { message, code, ...(problem.details ? { details: problem.details } : {}) } };
}

import type { Problem } from '../http/problem';

/**
 * A validation problem as one line, for envelopes whose `message` is a
 * string: the per-field messages joined with "; " (prefixed with the field
 * name when the messages do not already say it).
 */
export function fieldMessages(problem: Problem, options: { withField: boolean }): string {
  const fields = problem.details?.fields;
  if (!Array.isArray(fields) || fields.length === 0) return problem.message;
  return (fields as { field: string; message: string }[]).map((f) => (options.withField ? `${f.field} ${f.message}` : f.message)).join('; ');
}

/** The message of a stored execution error (`{code, message, stack?}`), or null. */
export function executionErrorMessage(error: unknown): string | null {
  const e = error as { message?: unknown } | null;
  return e && typeof e.message === 'string' ? e.message : null;
}

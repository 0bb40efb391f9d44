import type { Problem } from '../../http/problem';
import { fieldMessages } from '../compat-problem';
import { validationFailure } from './code-result';
import { CODE_TOO_LONG } from './code-validation';

/** The code-node API (document 004). */
export const CODE_NODE_PREFIX = '/api/ai-automation/code';
export const CODE_EXECUTE_PATH = `${CODE_NODE_PREFIX}/execute`;
export const CODE_VALIDATE_PATH = `${CODE_NODE_PREFIX}/validate`;

/**
 * Document 004 shows no error body; its server answers like FastAPI, so
 * errors are `{detail: message}`. A bad request to /execute keeps the result
 * shape the document's clients read (`status: "validation_error"`), and one
 * to /validate the `{valid, error}` shape.
 */
export function codeNodeEnvelope(problem: Problem): unknown {
  return { detail: problem.statusCode === 400 ? fieldMessages(problem, { withField: false }) : problem.message };
}

export function codeExecuteEnvelope(problem: Problem): unknown {
  if (problem.statusCode === 400) return validationFailure(fieldMessages(problem, { withField: false }));
  // Over the whole-body limit (KILN_BODY_LIMIT_BYTES) is, on this route, code far over its 10 KiB.
  if (problem.statusCode === 413) return validationFailure(CODE_TOO_LONG);
  return codeNodeEnvelope(problem);
}

export function codeValidateEnvelope(problem: Problem): unknown {
  if (problem.statusCode === 400 || problem.statusCode === 413) {
    return { valid: false, error: problem.statusCode === 413 ? CODE_TOO_LONG : fieldMessages(problem, { withField: false }) };
  }
  return codeNodeEnvelope(problem);
}

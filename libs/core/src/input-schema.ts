import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

const ajv = new Ajv({ allErrors: true, strict: false, coerceTypes: false });
addFormats(ajv);

// Compiled validators are cached by schema text: compiling costs far more
// than validating, and a script's schema only changes with a new version.
const cache = new Map<string, ValidateFunction>();
const CACHE_LIMIT = 500;

export interface InputProblem {
  field: string;
  message: string;
}

export type SchemaCheck = { ok: true } | { ok: false; message: string };

/** Is this a JSON Schema ajv can compile? Used when a script is saved. */
export function checkInputSchema(schema: unknown): SchemaCheck {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    return { ok: false, message: 'inputSchema must be a JSON Schema object' };
  }
  try {
    compile(schema);
    return { ok: true };
  } catch (err) {
    return { ok: false, message: `inputSchema is not a valid JSON Schema: ${(err as Error).message}` };
  }
}

function compile(schema: object): ValidateFunction {
  const key = JSON.stringify(schema);
  let validate = cache.get(key);
  if (!validate) {
    validate = ajv.compile(schema);
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
    cache.set(key, validate);
  }
  return validate;
}

function describe(error: ErrorObject): InputProblem {
  const base = error.instancePath ? `input${error.instancePath.replace(/\//g, '.')}` : 'input';
  if (error.keyword === 'required') {
    const missing = (error.params as { missingProperty: string }).missingProperty;
    return { field: `${base}.${missing}`, message: 'is required' };
  }
  if (error.keyword === 'additionalProperties') {
    const extra = (error.params as { additionalProperty: string }).additionalProperty;
    return { field: `${base}.${extra}`, message: 'is not allowed' };
  }
  return { field: base, message: error.message ?? 'is invalid' };
}

/** Validates run input against a script's inputSchema before it is enqueued. */
export function validateInput(schema: object, input: unknown): InputProblem[] {
  const validate = compile(schema);
  if (validate(input)) return [];
  return (validate.errors ?? []).map(describe);
}

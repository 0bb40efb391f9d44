/**
 * In-isolate console line formatting (SPEC §5): arguments joined by spaces;
 * strings as they are, other primitives and arrays through String(value),
 * plain objects as JSON, errors as `Name: message`. Formatting never throws:
 * a hostile toString or a cycle must not turn a log line into a failure.
 */
export const CONSOLE_FORMAT_SOURCE = String.raw`
function safeString(value) {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

function isErrorLike(value) {
  return value instanceof Error || Object.prototype.toString.call(value) === '[object Error]';
}

function formatError(error) {
  let name = 'Error';
  let message = '';
  try {
    name = error.name === undefined ? 'Error' : String(error.name);
    message = error.message === undefined ? '' : String(error.message);
  } catch {
    /* getters that throw fall back to the defaults */
  }
  return message === '' ? name : name + ': ' + message;
}

function safeJson(value) {
  const ancestors = [];
  return JSON.stringify(value, function (key, v) {
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'object' && v !== null) {
      // "this" is the holder: drop ancestors that are no longer on the path.
      while (ancestors.length > 0 && ancestors[ancestors.length - 1] !== this) ancestors.pop();
      if (ancestors.includes(v)) return '[Circular]';
      ancestors.push(v);
      if (isErrorLike(v)) return formatError(v);
    }
    return v;
  });
}

function formatLogValue(value) {
  if (typeof value === 'string') return value;
  if (typeof value === 'function') return '[Function: ' + (value.name || 'anonymous') + ']';
  if (value === null || typeof value !== 'object') return safeString(value);
  if (Array.isArray(value)) return safeString(value);
  if (isErrorLike(value)) return formatError(value);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  try {
    const json = safeJson(value);
    return json === undefined ? safeString(value) : json;
  } catch {
    return safeString(value);
  }
}

function formatLogArgs(args) {
  let line = '';
  for (let i = 0; i < args.length; i++) line += (i === 0 ? '' : ' ') + formatLogValue(args[i]);
  return line;
}
`;

import { analyzeSource, IMPORTS_REFUSED, scriptBodyError, type SourceLocationError } from '@kiln/core';

/** The name user code runs under; stack frames that mention it are the user's. */
export const SCRIPT_FILENAME = 'script.js';

/**
 * `bodyError`: classic code that does not parse on its own. V8 may still
 * compile it inside the wrapper (when it closes the wrapper early), so the
 * sandbox only asks V8 for the error and never runs it (see wrapScript).
 */
export type StyleCheck = { style: 'module' } | { style: 'script'; bodyError?: SourceLocationError } | { style: 'rejected'; message: string };

/**
 * import/export make a module; anything else is classic code that runs in an
 * async wrapper (CommonJS handlers and top-level code alike). Sources that do
 * not parse as a module are scripts: V8 then reports the syntax error with the
 * user's line and column.
 */
export function detectScriptStyle(source: string): StyleCheck {
  // The same few scripts run over and over; parsing 256 KiB each time would stall the child.
  const known = parsedStyles.get(source);
  if (known) return known;
  const check = parseStyle(source);
  if (parsedStyles.size >= PARSED_STYLES_MAX) parsedStyles.delete(parsedStyles.keys().next().value ?? '');
  parsedStyles.set(source, check);
  return check;
}

const PARSED_STYLES_MAX = 256;
const parsedStyles = new Map<string, StyleCheck>();

// One parser decides for the API (validation) and for the sandbox (how to run).
function parseStyle(source: string): StyleCheck {
  if (!/\b(?:import|export)\b/.test(source)) {
    const bodyError = scriptBodyError(source);
    return bodyError ? { style: 'script', bodyError } : { style: 'script' };
  }
  const analysis = analyzeSource(source);
  if (analysis.valid) return { style: analysis.style };
  // Imports are refused before running; any other syntax error is left to V8,
  // which reports it with the user's line and column.
  if (analysis.error.message.startsWith(IMPORTS_REFUSED)) return { style: 'rejected', message: `SyntaxError: ${analysis.error.message}` };
  return { style: 'script', bodyError: scriptBodyError(source) ?? analysis.error };
}

/**
 * Classic code runs inside an async function so that top-level await and
 * return work. The header sits on its own line and the script is compiled with
 * lineOffset -1, so V8 reports the user's own line numbers. The outer function
 * carries `module`/`exports`, the inner one the user's code, so a script may
 * still declare its own `module` or `exports`.
 *
 * Text wrapped around text can be closed from inside: a source that starts
 * with `}); })();` would run its next statements while the wrapper is
 * evaluated, synchronously on the child's main thread, where no time limit
 * reaches. Only sources that parse on their own (detectScriptStyle's
 * `bodyError` is unset) may be run: those cannot close the wrapper.
 */
export function wrapScript(source: string): string {
  // A hashbang is only legal at the very start; keep the columns with a comment.
  const body = source.startsWith('#!') ? '//' + source.slice(2) : source;
  return '(function (module, exports) { return (async function () {\n' + body + '\n}).call(exports); })';
}

export const WRAPPED_LINE_OFFSET = -1;

/** Module that lets the runtime learn when the user's module finished evaluating. */
export const READY_MODULE_SPECIFIER = 'kiln:ready';
export const READY_MODULE_SOURCE = 'export let ready = () => {};\nexport function set(fn) { ready = fn; }\n';
export const ENTRY_MODULE_SOURCE = `import { ready } from '${READY_MODULE_SPECIFIER}';\nimport '${SCRIPT_FILENAME}';\nready();\n`;

/**
 * Keeps the error line and the frames in the user's script; runtime frames
 * mean nothing to users. Frames past `lastLine` point into the script
 * wrapper's closing line, which the user never wrote.
 */
export function userStack(stack: string | undefined, header: string, lastLine = Infinity): string {
  if (stack === undefined) return header;
  const location = new RegExp(`${SCRIPT_FILENAME.replace('.', '\\.')}:(\\d+):\\d+`);
  const frames = stack.split('\n').filter((line) => {
    if (!/^\s+at\s/.test(line)) return false;
    const match = location.exec(line);
    return match !== null && Number(match[1]) <= lastLine;
  });
  return [header, ...frames].join('\n');
}

export function lineCount(source: string): number {
  let lines = 1;
  for (let i = source.indexOf('\n'); i >= 0; i = source.indexOf('\n', i + 1)) lines += 1;
  return lines;
}

/** A body error in the form V8's compile errors take here: `SyntaxError: message [script.js:line:column]`. */
export function bodyErrorMessage(error: SourceLocationError): string {
  return `SyntaxError: ${error.message} [${SCRIPT_FILENAME}:${error.line}:${error.column}]`;
}

import { parse, type Node } from 'acorn';
import { analyzeSource, checkBracketBalance } from '@kiln/core';

export type CodeValidation = { valid: true } | { valid: false; error: string };

/** Document 004's validation messages, in its words. */
export const CODE_EMPTY = 'Code cannot be empty';
export const CODE_TOO_LONG = 'Code exceeds maximum length';
export const DANGEROUS_PATTERN = 'Dangerous pattern detected';

function children(node: Node): Node[] {
  const out: Node[] = [];
  for (const value of Object.values(node) as unknown[]) {
    const items = Array.isArray(value) ? value : [value];
    for (const item of items) {
      if (item !== null && typeof item === 'object' && typeof (item as { type?: unknown }).type === 'string') out.push(item as Node);
    }
  }
  return out;
}

/**
 * `require(…)` or `import(…)`: code that loads modules cannot work in Kiln's
 * sandbox (there is no module loader), so it is refused before it runs.
 * A script that declares its own `require` is left alone. `eval` and
 * `Function` are not refused: inside the isolate they reach nothing more
 * than the script itself does.
 */
function moduleLoading(source: string): string | null {
  let program: Node | null = null;
  for (const sourceType of ['script', 'module'] as const) {
    try {
      program = parse(source, { ecmaVersion: 'latest', sourceType, allowAwaitOutsideFunction: true, allowReturnOutsideFunction: sourceType === 'script', allowHashBang: true });
      break;
    } catch {
      // Try the other dialect; analyzeSource has already vouched that one of them parses.
    }
  }
  if (!program) return null;
  let found: string | null = null;
  let declaresRequire = false;
  const stack: Node[] = [program];
  while (stack.length > 0) {
    const node = stack.pop() as Node & Record<string, unknown>;
    if (node.type === 'ImportExpression' && !found) found = 'import()';
    if (node.type === 'CallExpression' && !found) {
      const callee = node.callee as { type?: string; name?: string };
      if (callee.type === 'Identifier' && callee.name === 'require') found = 'require()';
    }
    if ((node.type === 'FunctionDeclaration' || node.type === 'VariableDeclarator') && (node.id as { name?: string } | null)?.name === 'require') declaresRequire = true;
    stack.push(...children(node));
  }
  return found === 'require()' && declaresRequire ? null : found;
}

/**
 * Document 004's checks, in order: empty; over the size limit
 * (KILN_ADHOC_CODE_MAX_BYTES, 10 KiB); unmatched brackets (from JavaScript's
 * own tokenizer); a real parse, whose message names line and column; module
 * loading.
 */
export function validateCode(code: string, overSizeLimit: (code: string) => boolean): CodeValidation {
  if (code.trim().length === 0) return { valid: false, error: CODE_EMPTY };
  if (overSizeLimit(code)) return { valid: false, error: CODE_TOO_LONG };
  const brackets = checkBracketBalance(code);
  if (!brackets.balanced) return { valid: false, error: `Unmatched ${brackets.kind}` };
  const analysis = analyzeSource(code);
  if (!analysis.valid) {
    const { message, line, column } = analysis.error;
    if (/^import declarations are not supported/.test(message)) return { valid: false, error: `${DANGEROUS_PATTERN}: ${message}` };
    return { valid: false, error: `${message} (line ${line}, column ${column})` };
  }
  const loading = moduleLoading(code);
  if (loading) return { valid: false, error: `${DANGEROUS_PATTERN}: ${loading} is not available in the sandbox (no module loader; use fetch or sdk.http)` };
  return { valid: true };
}

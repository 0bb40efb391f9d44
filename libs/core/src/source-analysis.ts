import { parse, type Options, type Program } from 'acorn';

export type ScriptStyle = 'module' | 'script';

/** Start of the error for import declarations (the sandbox refuses them before running). */
export const IMPORTS_REFUSED = 'import declarations are not supported';

export interface SourceLocationError {
  message: string;
  line: number;
  column: number;
}

export type SourceAnalysis = { valid: true; style: ScriptStyle } | { valid: false; error: SourceLocationError };

const COMMON: Options = {
  ecmaVersion: 'latest',
  allowHashBang: true,
  locations: false,
};

interface AcornSyntaxError extends SyntaxError {
  loc?: { line: number; column: number };
}

function parseAs(source: string, sourceType: 'module' | 'script'): Program {
  return parse(source, {
    ...COMMON,
    sourceType,
    // Scripts run inside an async wrapper, so top-level await and return are legal there.
    allowAwaitOutsideFunction: true,
    allowReturnOutsideFunction: sourceType === 'script',
  });
}

function toLocationError(err: unknown): SourceLocationError {
  const e = err as AcornSyntaxError;
  const message = (e.message ?? String(err)).replace(/\s*\(\d+:\d+\)$/, '');
  // acorn columns are 0-based; editors and users count from 1.
  return { message, line: e.loc?.line ?? 1, column: (e.loc?.column ?? 0) + 1 };
}

function usesModuleSyntax(program: Program): boolean {
  return program.body.some(
    (node) =>
      node.type === 'ImportDeclaration' ||
      node.type === 'ExportDefaultDeclaration' ||
      node.type === 'ExportNamedDeclaration' ||
      node.type === 'ExportAllDeclaration',
  );
}

/**
 * Parses a script with a real JavaScript parser and decides how the sandbox
 * runs it: as an ES module (it has import/export) or as classic code wrapped
 * in an async function (CommonJS handlers and top-level code).
 */
export function analyzeSource(source: string): SourceAnalysis {
  let moduleError: unknown;
  try {
    const program = parseAs(source, 'module');
    if (usesModuleSyntax(program)) {
      // Imports and re-exports (`export … from`) both need a module loader.
      const imported = program.body.find(
        (node) =>
          node.type === 'ImportDeclaration' || node.type === 'ExportAllDeclaration' || (node.type === 'ExportNamedDeclaration' && node.source != null),
      );
      if (imported) {
        const line = source.slice(0, imported.start).split('\n').length;
        return {
          valid: false,
          error: {
            message: `${IMPORTS_REFUSED}: scripts run without a module loader (use fetch or sdk.http)`,
            line,
            column: imported.start - source.lastIndexOf('\n', imported.start - 1),
          },
        };
      }
      return { valid: true, style: 'module' };
    }
  } catch (err) {
    moduleError = err;
  }
  try {
    parseAs(source, 'script');
    return { valid: true, style: 'script' };
  } catch (scriptError) {
    // Report the error of the dialect the author most likely meant.
    const looksLikeModule = /(^|\n)\s*(import|export)\s/.test(source);
    return { valid: false, error: toLocationError(looksLikeModule && moduleError ? moduleError : scriptError) };
  }
}

/**
 * The syntax error of classic code parsed on its own, as the body the sandbox
 * wraps it in (top-level await and return allowed), or null when it parses.
 * Code that parses on its own has balanced brackets, so it cannot close the
 * wrapper early; the sandbox refuses to run anything else (see wrapScript).
 */
export function scriptBodyError(source: string): SourceLocationError | null {
  try {
    parseAs(source, 'script');
    return null;
  } catch (err) {
    return toLocationError(err);
  }
}

import { tokenizer, tokTypes, type TokenType } from 'acorn';

export type BracketKind = 'curly braces' | 'square brackets' | 'parentheses';

export type BracketBalance = { balanced: true } | { balanced: false; kind: BracketKind; line: number; column: number };

const OPENERS = new Map<TokenType, BracketKind>([
  [tokTypes.braceL, 'curly braces'],
  // `${` in a template literal is closed by a plain `}`.
  [tokTypes.dollarBraceL, 'curly braces'],
  [tokTypes.bracketL, 'square brackets'],
  [tokTypes.parenL, 'parentheses'],
]);

const CLOSERS = new Map<TokenType, BracketKind>([
  [tokTypes.braceR, 'curly braces'],
  [tokTypes.bracketR, 'square brackets'],
  [tokTypes.parenR, 'parentheses'],
]);

interface Open {
  kind: BracketKind;
  line: number;
  column: number;
}

/**
 * Finds the first unmatched bracket with JavaScript's own tokenizer, so
 * brackets inside strings, template text, regular expressions and comments
 * do not count. Returns `balanced: true` when the tokenizer itself fails
 * (an unterminated string, say): the real parse reports that error better.
 */
export function checkBracketBalance(source: string): BracketBalance {
  const stack: Open[] = [];
  try {
    for (const token of tokenizer(source, { ecmaVersion: 'latest', allowHashBang: true, locations: true, allowAwaitOutsideFunction: true, allowReturnOutsideFunction: true })) {
      const position = { line: token.loc?.start.line ?? 1, column: (token.loc?.start.column ?? 0) + 1 };
      const opens = OPENERS.get(token.type);
      if (opens) {
        stack.push({ kind: opens, ...position });
        continue;
      }
      const closes = CLOSERS.get(token.type);
      if (!closes) continue;
      const open = stack.pop();
      // A closer with nothing open is unmatched; so is an opener closed by the wrong kind (report the opener).
      if (!open) return { balanced: false, kind: closes, ...position };
      if (open.kind !== closes) return { balanced: false, ...open };
    }
  } catch {
    return { balanced: true };
  }
  const open = stack.pop();
  return open ? { balanced: false, ...open } : { balanced: true };
}

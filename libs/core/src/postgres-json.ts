/**
 * PostgreSQL's json and jsonb cannot hold U+0000 or a lone UTF-16 surrogate
 * (text cannot hold U+0000 either), but a script may return them, log them
 * or receive them in an HTTP body, and one such value would fail the whole
 * statement it is written in: with group commit, other runs' finishes too.
 * The stored value gets U+FFFD in their place.
 */

/**
 * The escapes JSON.stringify writes for those: `\u0000`, and `\udXXX` for a
 * lone surrogate (a paired one is written as the character itself). Only
 * after an even number of backslashes: never a string's own `\\u0000` text.
 */
const UNSTORABLE_ESCAPE = /(?<!\\)((?:\\\\)*)\\u(?:0000|d[89a-f][0-9a-f]{2})/g;

function mayHoldUnstorable(json: string): boolean {
  return json.includes('\\u0000') || json.includes('\\ud');
}

/** JSON.stringify for a json/jsonb parameter, with U+FFFD for every NUL and lone surrogate. */
export function toPostgresJson(value: unknown): string {
  const json = JSON.stringify(value);
  return mayHoldUnstorable(json) ? json.replace(UNSTORABLE_ESCAPE, '$1\\ufffd') : json;
}

/** Whether JSON.stringify output holds what toPostgresJson would replace. */
export function jsonHoldsUnstorable(json: string): boolean {
  if (!mayHoldUnstorable(json)) return false;
  UNSTORABLE_ESCAPE.lastIndex = 0;
  return UNSTORABLE_ESCAPE.test(json);
}

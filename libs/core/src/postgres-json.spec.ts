import { jsonHoldsUnstorable, toPostgresJson } from './postgres-json';

describe('toPostgresJson', () => {
  it('writes NUL as U+FFFD in values and keys, at any depth', () => {
    const json = toPostgresJson({ a: 'x\u0000y', ['k\u0000']: ['\u0000', { deep: '\u0000\u0000' }] });
    expect(JSON.parse(json)).toEqual({ a: 'x\uFFFDy', ['k\uFFFD']: ['\uFFFD', { deep: '\uFFFD\uFFFD' }] });
    expect(jsonHoldsUnstorable(json)).toBe(false);
  });

  it('writes lone surrogates as U+FFFD and keeps paired ones', () => {
    const value = { high: 'a\uD800b', low: '\uDC00', pair: '\uD83D\uDE00', reversed: '\uDE00\uD83D' };
    expect(jsonHoldsUnstorable(JSON.stringify(value))).toBe(true);
    expect(JSON.parse(toPostgresJson(value))).toEqual({ high: 'a\uFFFDb', low: '\uFFFD', pair: '\uD83D\uDE00', reversed: '\uFFFD\uFFFD' });
  });

  it("leaves a string's own backslash-u text alone", () => {
    const text = { literal: '\\u0000', surrogate: '\\ud800', both: '\\\u0000', many: '\\\\u0000' };
    expect(JSON.parse(toPostgresJson(text))).toEqual({ literal: '\\u0000', surrogate: '\\ud800', both: '\\\uFFFD', many: '\\\\u0000' });
    expect(jsonHoldsUnstorable(JSON.stringify({ literal: '\\u0000', surrogate: '\\ud800' }))).toBe(false);
  });

  it('is JSON.stringify when there is nothing to replace', () => {
    const value = { n: 1, s: 'plain \\ud', list: [true, null], emoji: '\uD83D\uDE00' };
    expect(toPostgresJson(value)).toBe(JSON.stringify(value));
  });
});

import { checkBracketBalance } from './bracket-balance';

describe('bracket balance', () => {
  it.each([
    ['function f() { return 1;', 'curly braces', 1, 14],
    ['const a = [1, 2;', 'square brackets', 1, 11],
    ["console.log('x';", 'parentheses', 1, 12],
    ['a)', 'parentheses', 1, 2],
    ['const x = { a: [1 }', 'square brackets', 1, 16],
    ['f(\n  [1,\n  2)', 'square brackets', 2, 3],
  ])('finds the unmatched bracket in %j', (source, kind, line, column) => {
    expect(checkBracketBalance(source)).toEqual({ balanced: false, kind, line, column });
  });

  it('ignores brackets in strings, template text, regular expressions and comments', () => {
    expect(checkBracketBalance("const s = '{[('; const t = `a ${ {b: [1]}.b } )`; /[)]/.test(s); // }\n/* ] */")).toEqual({ balanced: true });
  });

  it('leaves what the tokenizer cannot read to the parser', () => {
    expect(checkBracketBalance("const s = 'unterminated")).toEqual({ balanced: true });
  });
});

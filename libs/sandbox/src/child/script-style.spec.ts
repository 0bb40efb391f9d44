import { detectScriptStyle, lineCount, userStack, wrapScript } from './script-style';

describe('detectScriptStyle', () => {
  it.each([
    ['module.exports = async ({ input }) => input;', 'script'],
    ['const r = await fetch("http://x"); results.s = r.status;', 'script'],
    ['// we import nothing and export nothing\nreturn 1;', 'script'],
    ['const m = await import("x");', 'script'],
    ['with (Math) { results.x = max(1, 2); }', 'script'],
    ['export default async function (ctx) { return ctx.input.a; }', 'module'],
    ['export async function onApproved() {}\nexport default 1;', 'module'],
    ['export const x = 1;', 'module'],
  ])('%s → %s', (source, style) => {
    expect(detectScriptStyle(source)).toEqual({ style });
  });

  it.each([
    ['let x = ;', { line: 1, column: 9 }],
    ['results.a = 1;\n}); })(); while (true) {}\n(function () { return (async function () {', { line: 2, column: 1 }],
  ])('marks %j as a script with the error it has on its own', (source, at) => {
    expect(detectScriptStyle(source)).toEqual({ style: 'script', bodyError: { message: 'Unexpected token', ...at } });
  });

  it('gives a broken module the error of the script it then runs as', () => {
    expect(detectScriptStyle('export const x = ;')).toEqual({
      style: 'script',
      bodyError: { message: expect.stringContaining('sourceType: module'), line: 1, column: 1 },
    });
  });

  it.each(['import fs from "fs";\nexport default 1;', 'export * from "x";', 'export { a } from "b";'])(
    'rejects module loading in %s',
    (source) => {
      expect(detectScriptStyle(source)).toEqual({
        style: 'rejected',
        message: expect.stringContaining('import declarations are not supported'),
      });
    },
  );
});

describe('wrapScript', () => {
  it('keeps the user code on its own lines after a one-line header', () => {
    const wrapped = wrapScript('a;\nb;');
    expect(wrapped.split('\n')).toEqual([expect.stringContaining('async function'), 'a;', 'b;', expect.stringContaining('})')]);
  });

  it('turns a hashbang into a comment of the same width', () => {
    expect(wrapScript('#!/usr/bin/env node\nx').split('\n')[1]).toBe('///usr/bin/env node');
  });
});

describe('userStack', () => {
  const stack = [
    'TypeError: boom',
    '    at inner (script.js:3:11)',
    '    at complete (kiln:runtime:900:5)',
    '    at Object.<anonymous> (script.js:5:1)',
    '    at script.js:7:4',
    '    at (<isolated-vm boundary>)',
  ].join('\n');

  it('keeps the header and only frames inside the user script', () => {
    expect(userStack(stack, 'TypeError: boom', 6)).toBe(
      'TypeError: boom\n    at inner (script.js:3:11)\n    at Object.<anonymous> (script.js:5:1)',
    );
  });

  it('falls back to the header alone', () => {
    expect(userStack(undefined, 'Error: x')).toBe('Error: x');
  });

  it('counts lines', () => {
    expect([lineCount(''), lineCount('a'), lineCount('a\nb\n')]).toEqual([1, 1, 3]);
  });
});

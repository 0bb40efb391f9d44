import { analyzeSource } from './source-analysis';

describe('analyzeSource', () => {
  it.each([
    ['module.exports = async ({ input }) => ({ ok: true });', 'script'],
    ['export default async function (ctx) { return ctx.input.a + ctx.input.b; }', 'module'],
    ["const r = await fetch('http://127.0.0.1:8080/x'); results.status = r.status;", 'script'],
    ['export async function onApproved() {}\nexport default () => 1;', 'module'],
    ['with (Math) { results.x = PI; }', 'script'],
    ['return 5;', 'script'],
  ])('accepts %s as %s', (source, style) => {
    expect(analyzeSource(source)).toEqual({ valid: true, style });
  });

  it('reports line and 1-based column of a syntax error', () => {
    const result = analyzeSource('const a = 1;\nconst b = ;\n');
    expect(result).toEqual({ valid: false, error: { message: 'Unexpected token', line: 2, column: 11 } });
  });

  it('reports unbalanced braces', () => {
    const result = analyzeSource('function f() {\n  return 1;\n');
    expect(result.valid).toBe(false);
    if (!result.valid) expect(result.error.line).toBe(3);
  });

  it('refuses import declarations with their location', () => {
    const result = analyzeSource("const x = 1;\nimport fs from 'fs';\nexport default () => x;");
    expect(result).toMatchObject({ valid: false, error: { line: 2, column: 1 } });
    if (!result.valid) expect(result.error.message).toMatch(/import declarations are not supported/);
  });

  it.each(['export * from "x";', 'export { a } from "b";'])('refuses re-exports that need a loader: %s', (source) => {
    const result = analyzeSource(source);
    expect(result.valid).toBe(false);
    if (!result.valid) expect(result.error.message).toMatch(/^import declarations are not supported/);
  });

  it('reports module errors for module-looking code', () => {
    const result = analyzeSource('export default function ( {');
    expect(result.valid).toBe(false);
    if (!result.valid) expect(result.error.line).toBe(1);
  });
});

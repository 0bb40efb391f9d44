import { SandboxPool } from '../src';
import { request } from './pool-fixture';

describe('sandbox: script styles and entries', () => {
  let pool: SandboxPool;
  beforeAll(async () => {
    pool = new SandboxPool({ processes: 1, runsPerProcess: 4 });
    await pool.start();
  });
  afterAll(() => pool.close(0));

  it('runs each source in a fresh context when one isolate alternates between scripts', async () => {
    // Sequential runs of one tenant reuse one isolate, and with it the last compiled script.
    const sources = [
      'globalThis.seen = (globalThis.seen ?? 0) + 1; module.exports = () => ["a", globalThis.seen];',
      'module.exports = () => ["b", typeof globalThis.seen];',
    ];
    const outputs: unknown[] = [];
    for (const source of [sources[0], sources[0], sources[1], sources[0], sources[1], sources[1]]) {
      const outcome = await pool.run(request(source ?? '', { isolationKey: 'alternating' }));
      outputs.push(outcome.status === 'completed' ? outcome.output : outcome);
    }
    expect(outputs).toEqual([
      ['a', 1],
      ['a', 1],
      ['b', 'undefined'],
      ['a', 1],
      ['b', 'undefined'],
      ['b', 'undefined'],
    ]);
  });

  it('calls a CommonJS handler with every documented field', async () => {
    const outcome = await pool.run(
      request(
        `module.exports = async ({ input, context, sdk, logger, eventData, requestUser, API, console, results, fetch, events, approval, setTimeout, URL, crypto }) => ({
          ok: true, sum: input.a + input.b, tenant: context.tenantId, eventData, requestUser,
          aliases: API === sdk && logger === sdk.log,
          kinds: [fetch, events.publish, approval.request, console.log, setTimeout, URL, crypto.randomUUID].map((f) => typeof f),
          results,
        });`,
        { globals: { eventData: { query: { q: '1' }, body: null }, requestUser: { id: 'u1' } } },
      ),
    );
    expect(outcome).toMatchObject({
      status: 'completed',
      output: {
        ok: true,
        sum: 3,
        tenant: 'tenant-a',
        eventData: { query: { q: '1' }, body: null },
        requestUser: { id: 'u1' },
        aliases: true,
        kinds: Array(7).fill('function'),
        results: {},
      },
      logs: [],
      logsTruncated: false,
    });
  });

  it('calls exports.handler', async () => {
    const outcome = await pool.run(request('exports.handler = async ({ input }) => input.a * 10;'));
    expect(outcome).toMatchObject({ status: 'completed', output: 10 });
  });

  it('calls an ESM default export', async () => {
    const outcome = await pool.run(request('export default async function (ctx) { return ctx.input.a + ctx.input.b; }'));
    expect(outcome).toMatchObject({ status: 'completed', output: 3 });
  });

  it('waits for top-level await in a module before calling its default export', async () => {
    const source = [
      'const base = await new Promise((resolve) => setTimeout(() => resolve(100), 20));',
      'export default ({ input }) => base + input.a;',
    ].join('\n');
    expect(await pool.run(request(source))).toMatchObject({ status: 'completed', output: 101 });
  });

  it('runs top-level code with top-level await and returns results', async () => {
    const host = (op: string, args: unknown[]) =>
      Promise.resolve({ op, args, status: 204, statusText: 'No Content', headers: {}, body: '' });
    const outcome = await pool.run(
      request("const r = await fetch('http://127.0.0.1:8080/x'); results.status = r.status; console.log('done');", { host }),
    );
    expect(outcome).toMatchObject({ status: 'completed', output: { status: 204 }, logs: [{ level: 'log', message: 'done' }] });
  });

  it('takes a top-level return value as the output', async () => {
    expect(await pool.run(request('results.ignored = true;\nreturn { explicit: input.a };'))).toMatchObject({
      status: 'completed',
      output: { explicit: 1 },
    });
  });

  it('turns undefined into null', async () => {
    expect(await pool.run(request('module.exports = async () => undefined;'))).toMatchObject({ status: 'completed', output: null });
  });

  it('reports a thrown error with the line and column of the user script', async () => {
    const outcome = await pool.run(request("const a = 1;\nconst b = 2;\n  throw new TypeError('nope ' + (a + b));"));
    expect(outcome).toMatchObject({ status: 'failed', error: { code: 'EXECUTION_ERROR', message: 'TypeError: nope 3' } });
    if (outcome.status !== 'failed') throw new Error('expected a failure');
    expect(outcome.error.stack?.split('\n')).toEqual(['TypeError: nope 3', expect.stringMatching(/\(script\.js:3:9\)$/)]);
  });

  it('points at the lines of a failing handler and its helpers', async () => {
    const source = [
      'function helper(x) {',
      '  return x.missing.field;',
      '}',
      'module.exports = async ({ input }) => {',
      '  return helper(input);',
      '};',
    ].join('\n');
    const outcome = await pool.run(request(source));
    expect(outcome).toMatchObject({
      status: 'failed',
      error: { code: 'EXECUTION_ERROR', message: expect.stringMatching(/^TypeError: Cannot read properties of undefined/) },
    });
    if (outcome.status !== 'failed') throw new Error('expected a failure');
    expect(outcome.error.stack).toMatch(/at helper \(script\.js:2:20\)\n\s+at .*\(script\.js:5:10\)/);
    expect(outcome.error.stack).not.toContain('kiln:');
  });

  it('points at the lines of a failing module', async () => {
    const outcome = await pool.run(request('export default async () => {\n  await null;\n  throw new RangeError("late");\n};'));
    expect(outcome).toMatchObject({
      status: 'failed',
      error: { code: 'EXECUTION_ERROR', message: 'RangeError: late', stack: expect.stringContaining('script.js:3:9') },
    });
  });

  it('reports a module that throws while it evaluates', async () => {
    const outcome = await pool.run(request('await null;\nthrow new Error("at top level");\nexport default 1;'));
    expect(outcome).toMatchObject({
      status: 'failed',
      error: { code: 'EXECUTION_ERROR', message: 'Error: at top level', stack: expect.stringContaining('script.js:2:7') },
    });
  });

  it('reports syntax errors with the user line and column', async () => {
    expect(await pool.run(request('const ok = 1;\nlet x = ;'))).toMatchObject({
      status: 'failed',
      error: { code: 'EXECUTION_ERROR', message: "SyntaxError: Unexpected token ';' [script.js:2:9]" },
    });
  });

  it('refuses import declarations', async () => {
    expect(await pool.run(request('import fs from "fs";\nexport default () => fs;'))).toMatchObject({
      status: 'failed',
      error: { code: 'EXECUTION_ERROR', message: expect.stringContaining('import declarations are not supported') },
    });
  });

  it('suspends on approval.request and does not run the rest of the script', async () => {
    const source = [
      "console.log('before');",
      "await approval.request({ rows: [{ id: 1 }], metadata: { reason: 'big' }, displayFields: ['id'] });",
      "console.log('after');",
    ].join('\n');
    const outcome = await pool.run(request(source));
    expect(outcome).toMatchObject({
      status: 'suspended',
      approval: { rows: [{ id: 1 }], metadata: { reason: 'big' }, displayFields: ['id'] },
      logs: [{ message: 'before' }],
    });
    expect(outcome.logs).toHaveLength(1);
  });

  it('runs the CommonJS onApproved export as the continuation', async () => {
    const source = [
      'module.exports = async () => { await approval.request({ rows: [1] }); return "unreachable"; };',
      'module.exports.onApproved = async ({ approvalData, comment, input }) => ({ approvalData, comment, a: input.a });',
    ].join('\n');
    const globals = { approvalData: { rows: [1] }, comment: 'ship it' };
    expect(await pool.run(request(source))).toMatchObject({ status: 'suspended', approval: { rows: [1] } });
    expect(await pool.run(request(source, { entry: 'onApproved', globals }))).toMatchObject({
      status: 'completed',
      output: { approvalData: { rows: [1] }, comment: 'ship it', a: 1 },
    });
  });

  it('runs an ESM onApproved export', async () => {
    const source =
      'export default async () => approval.request({ rows: [] });\nexport async function onApproved({ comment }) { return { comment }; }';
    expect(await pool.run(request(source, { entry: 'onApproved', globals: { comment: 'ok' } }))).toMatchObject({
      status: 'completed',
      output: { comment: 'ok' },
    });
  });

  it('continues a top-level script at onApproved instead of suspending again', async () => {
    const source = [
      'module.exports.onApproved = async ({ approvalData }) => ({ approved: approvalData });',
      'await approval.request({ rows: [1, 2] });',
      'results.never = true;',
    ].join('\n');
    expect(await pool.run(request(source, { entry: 'onApproved', globals: { approvalData: 'yes' } }))).toMatchObject({
      status: 'completed',
      output: { approved: 'yes' },
    });
  });

  it('fails an onApproved run when the script has no onApproved export', async () => {
    expect(await pool.run(request('module.exports = async () => 1;', { entry: 'onApproved' }))).toMatchObject({
      status: 'failed',
      error: { code: 'EXECUTION_ERROR', message: 'Error: script has no onApproved export' },
    });
  });
});

import { SandboxPool, type RunOutcome } from '../src';
import { request } from './pool-fixture';

function failure(outcome: RunOutcome): { code: string; message: string; stack?: string } {
  if (outcome.status !== 'failed') throw new Error(`expected a failure, got ${JSON.stringify(outcome)}`);
  return outcome.error;
}

describe('sandbox: limits', () => {
  let pool: SandboxPool;
  beforeAll(async () => {
    pool = new SandboxPool({ processes: 1, runsPerProcess: 8 });
    await pool.start();
  });
  afterAll(() => pool.close(0));

  it('ends an infinite loop with TIMEOUT near timeoutMs', async () => {
    const started = Date.now();
    const outcome = await pool.run(request('while (true) {}', { limits: { timeoutMs: 1000 } }));
    const elapsed = Date.now() - started;
    expect(failure(outcome)).toEqual({ code: 'TIMEOUT', message: 'Script exceeded the time limit of 1000 ms' });
    expect(elapsed).toBeGreaterThanOrEqual(1000);
    expect(elapsed).toBeLessThan(2500);
    expect(outcome.durationMs).toBeGreaterThanOrEqual(1000);
    expect(outcome.durationMs).toBeLessThan(2500);
  });

  it.each([
    ['a never-resolving await', 'await new Promise(() => {});'],
    ['an async loop of resolved promises', 'for (;;) { await null; }'],
    ['a never-resolving handler', 'module.exports = () => new Promise(() => {});'],
    ['a module stuck at top level', 'await new Promise(() => {});\nexport default 1;'],
    ['catastrophic regex backtracking', "results.m = /^(a+)+$/.test('a'.repeat(40) + 'b');"],
    ['a timer that keeps rescheduling itself', 'const tick = () => setTimeout(tick, 1); tick(); await new Promise(() => {});'],
  ])('ends %s with TIMEOUT', async (_name, source) => {
    const started = Date.now();
    const outcome = await pool.run(request(source, { limits: { timeoutMs: 500 } }));
    expect(failure(outcome).code).toBe('TIMEOUT');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('keeps other runs of the process moving while neighbours spin', async () => {
    const spinners = [1, 2, 3].map(() => pool.run(request('while (true) {}', { limits: { timeoutMs: 1500 } })));
    const started = Date.now();
    const quick = await Promise.all([1, 2, 3, 4].map((i) => pool.run(request(`module.exports = () => ${i};`))));
    expect(quick.map((o) => (o.status === 'completed' ? o.output : o.status))).toEqual([1, 2, 3, 4]);
    expect(Date.now() - started).toBeLessThan(1000);
    expect((await Promise.all(spinners)).map((o) => o.status)).toEqual(['failed', 'failed', 'failed']);
  });

  it('keeps logs written before a timeout', async () => {
    const outcome = await pool.run(
      request("console.log('before');\nsdk.log.info('meta', { k: 1 });\nwhile (true) {}", { limits: { timeoutMs: 300 } }),
    );
    expect(outcome).toMatchObject({
      status: 'failed',
      error: { code: 'TIMEOUT' },
      logs: [
        { level: 'log', message: 'before' },
        { level: 'info', message: 'meta', meta: { k: 1 } },
      ],
    });
  });

  it('ends a 16 MB memory bomb with MEMORY_LIMIT, and the next run of the tenant succeeds', async () => {
    const bomb = "const hoard = [];\nwhile (true) hoard.push({ n: hoard.length, s: 'x'.repeat(64) + hoard.length });";
    const outcome = await pool.run(request(bomb, { limits: { memoryMb: 16 } }));
    expect(failure(outcome)).toEqual({ code: 'MEMORY_LIMIT', message: expect.stringContaining('16 MB') });
    expect(await pool.run(request('module.exports = () => "fine";', { limits: { memoryMb: 16 } }))).toMatchObject({
      status: 'completed',
      output: 'fine',
    });
    expect(pool.stats().restarts).toBe(0);
  });

  it('ends a large single allocation with MEMORY_LIMIT or a catchable error, never a dead pool', async () => {
    const outcome = await pool.run(
      request('const big = new Array(5_000_000).fill(1.5); results.n = big.length;', { limits: { memoryMb: 16 } }),
    );
    expect(['MEMORY_LIMIT', 'EXECUTION_ERROR']).toContain(failure(outcome).code);
    expect(await pool.run(request('module.exports = () => 1;'))).toMatchObject({ status: 'completed', output: 1 });
  });

  it('reports runaway recursion as an EXECUTION_ERROR RangeError', async () => {
    const outcome = await pool.run(request('function down(n) { return down(n + 1) + 1; }\ndown(0);'));
    expect(failure(outcome)).toMatchObject({ code: 'EXECUTION_ERROR', message: 'RangeError: Maximum call stack size exceeded' });
  });

  it('runs 10,000 timers to completion', async () => {
    const source = [
      'let fired = 0;',
      'await new Promise((resolve) => {',
      '  for (let i = 0; i < 10000; i++) setTimeout(() => { if (++fired === 10000) resolve(); }, i % 50);',
      '});',
      'results.fired = fired;',
    ].join('\n');
    expect(await pool.run(request(source))).toMatchObject({ status: 'completed', output: { fired: 10000 } });
  });

  it('refuses a timer past 10,000 pending with a clear error', async () => {
    const outcome = await pool.run(request('for (let i = 0; i <= 10000; i++) setTimeout(() => {}, 60000);'));
    expect(failure(outcome)).toMatchObject({ code: 'EXECUTION_ERROR', message: expect.stringContaining('Too many pending timers') });
  });

  it('fails the run when a timer callback throws', async () => {
    const outcome = await pool.run(request("setTimeout(() => { throw new Error('in timer'); }, 1);\nawait new Promise(() => {});"));
    expect(failure(outcome)).toMatchObject({
      code: 'EXECUTION_ERROR',
      message: 'Error: in timer',
      stack: expect.stringContaining('script.js:1:26'),
    });
  });

  it('does not keep a run alive for its pending timers', async () => {
    const started = Date.now();
    expect(await pool.run(request('setTimeout(() => {}, 60000); results.done = true;'))).toMatchObject({
      status: 'completed',
      output: { done: true },
    });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('truncates 10 MB of console output quickly and otherwise runs normally', async () => {
    const started = Date.now();
    const source = "const line = 'x'.repeat(1000);\nfor (let i = 0; i < 10000; i++) console.log(line, i);\nresults.ok = true;";
    const outcome = await pool.run(request(source));
    expect(Date.now() - started).toBeLessThan(3000);
    expect(outcome).toMatchObject({ status: 'completed', output: { ok: true }, logsTruncated: true });
    const last = outcome.logs[outcome.logs.length - 1];
    expect(last).toMatchObject({ level: 'warn', message: '[logs truncated: limit of 1048576 bytes reached]' });
    const stored = outcome.logs.reduce((sum, entry) => sum + Buffer.byteLength(entry.message) + 32, 0);
    expect(stored).toBeLessThanOrEqual(1024 * 1024 + 200);
    expect(outcome.logs.length).toBeGreaterThan(900);
  });

  it('rejects output over maxOutputBytes with OUTPUT_LIMIT', async () => {
    const outcome = await pool.run(request("module.exports = () => ({ blob: 'y'.repeat(1024 * 1024) });"));
    expect(failure(outcome)).toEqual({ code: 'OUTPUT_LIMIT', message: 'Output exceeds the limit of 1048576 bytes' });
  });

  it('holds approval data to the output limit', async () => {
    const outcome = await pool.run(request("await approval.request({ rows: ['z'.repeat(1024 * 1024)] });"));
    expect(failure(outcome)).toEqual({ code: 'OUTPUT_LIMIT', message: 'Approval data exceeds the limit of 1048576 bytes' });
  });

  it.each([
    ['a circular value', 'const o = {}; o.self = o; module.exports = () => o;', 'circular'],
    ['a BigInt', 'module.exports = () => ({ n: 1n });', 'BigInt'],
    ['a function', 'module.exports = () => () => 1;', 'function'],
  ])('rejects %s with INVALID_OUTPUT', async (_name, source, hint) => {
    const error = failure(await pool.run(request(source)));
    expect(error.code).toBe('INVALID_OUTPUT');
    expect(error.message.toLowerCase()).toContain(hint.toLowerCase());
  });
});

import { SandboxPool, type HostCall, type RunOutcome } from '../src';
import { request } from './pool-fixture';

/**
 * A classic script first runs synchronously for at most SYNC_SLICE_MS; one
 * that is still computing then starts again on isolated-vm's thread. Nothing
 * the stopped attempt did may be seen twice.
 */
const SPIN_MS = 40;
const spin = `{ const until = Date.now() + ${SPIN_MS}; while (Date.now() < until) {} }`;

function completedOutput(outcome: RunOutcome): unknown {
  if (outcome.status !== 'completed') throw new Error(`expected completed, got ${JSON.stringify(outcome)}`);
  return outcome.output;
}

describe('sandbox: synchronous slice', () => {
  let pool: SandboxPool;
  beforeAll(async () => {
    pool = new SandboxPool({ processes: 1, runsPerProcess: 4 });
    await pool.start();
  });
  afterAll(() => pool.close(0));

  it('keeps one copy of what a script logged before it outlasted the slice', async () => {
    const source = `console.log('before'); ${spin} console.log('after'); return 42;`;
    const outcome = await pool.run(request(source, { isolationKey: 'slice-logs' }));
    expect(completedOutput(outcome)).toBe(42);
    expect(outcome.logs.map((entry) => entry.message)).toEqual(['before', 'after']);
    expect(outcome.durationMs).toBeGreaterThanOrEqual(SPIN_MS);
  });

  it('sends a host call made before the script outlasted the slice once', async () => {
    const calls: unknown[] = [];
    const host: HostCall = (op, args) => {
      calls.push([op, args]);
      return Promise.resolve('OK');
    };
    // A fresh source per run, so this process has not learnt yet that it is slow.
    const source = `const pending = sdk.cache.set('k', ${Date.now()}); ${spin} return await pending;`;
    const outcome = await pool.run(request(source, { host, isolationKey: 'slice-calls' }));
    expect(completedOutput(outcome)).toBe('OK');
    expect(calls).toHaveLength(1);
    expect(calls[0]).toEqual(['cache.set', ['k', expect.any(Number)]]);
  });

  it('fires a timer set before the script outlasted the slice once', async () => {
    const source = `let fired = 0; setTimeout(() => { fired += 1; }, 0); ${spin}
      await new Promise((resolve) => setTimeout(resolve, 30)); return fired; // ${Date.now()}`;
    expect(completedOutput(await pool.run(request(source, { isolationKey: 'slice-timers' })))).toBe(1);
  });

  it('runs a slow source again, and quick ones after it, with the same results', async () => {
    const slow = `module.exports = ({ input }) => { ${spin} return input.a + input.b; }; // ${Date.now()}`;
    const outputs = [];
    for (let i = 0; i < 3; i++) outputs.push(completedOutput(await pool.run(request(slow, { globals: { input: { a: i, b: 10 } } }))));
    expect(outputs).toEqual([10, 11, 12]);
    const quick = await Promise.all([1, 2, 3].map((i) => pool.run(request(`module.exports = () => ${i};`))));
    expect(quick.map(completedOutput)).toEqual([1, 2, 3]);
  });

  it('goes on from an await inside the slice', async () => {
    const calls: string[] = [];
    const host: HostCall = (op) => {
      calls.push(op);
      return Promise.resolve(7);
    };
    const source = 'const first = await sdk.cache.get("a"); const second = await sdk.cache.get("b"); return first + second;';
    expect(completedOutput(await pool.run(request(source, { host })))).toBe(14);
    expect(calls).toEqual(['cache.get', 'cache.get']);
  });

  it('ends a loop with TIMEOUT when the run limit is shorter than the slice', async () => {
    const outcome = await pool.run(request('while (true) {}', { limits: { timeoutMs: 2 } }));
    expect(outcome).toMatchObject({ status: 'failed', error: { code: 'TIMEOUT', message: 'Script exceeded the time limit of 2 ms' } });
    expect(completedOutput(await pool.run(request('return 1;')))).toBe(1);
  });

  it('sends a host call nobody awaited of a run that settles in its slice', async () => {
    const calls: string[] = [];
    const host: HostCall = (op) => {
      calls.push(op);
      return Promise.resolve('OK');
    };
    expect(completedOutput(await pool.run(request("sdk.cache.set('k', 1); return 1;", { host })))).toBe(1);
    expect(calls).toEqual(['cache.set']);
  });

  it('sends the host calls of a run that ends in its slice, as a run on the thread does', async () => {
    const calls: string[] = [];
    const host: HostCall = (op) => {
      calls.push(op);
      return Promise.resolve('OK');
    };
    const outcome = await pool.run(request("sdk.cache.set('k', 1); while (true) {}", { host, limits: { timeoutMs: 2 } }));
    expect(outcome).toMatchObject({ status: 'failed', error: { code: 'TIMEOUT' } });
    expect(calls).toEqual(['cache.set']);
  });

  it('reports a script that patches Reflect.apply like any other', async () => {
    const source = `Reflect.apply = () => { throw new Error('patched'); };
      module.exports = ({ input }) => ({ sum: input.a + input.b });`;
    expect(completedOutput(await pool.run(request(source)))).toEqual({ sum: 3 });
  });

  it('reports an error thrown inside the slice with its line', async () => {
    const outcome = await pool.run(request('const x = 1;\nthrow new TypeError("no " + x);'));
    expect(outcome).toMatchObject({ status: 'failed', error: { code: 'EXECUTION_ERROR', message: 'TypeError: no 1' } });
    expect(outcome.status === 'failed' ? outcome.error.stack : '').toContain('script.js:2');
  });
});

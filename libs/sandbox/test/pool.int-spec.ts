import { SandboxPool, type HostCall, type RunOutcome } from '../src';
import { deferred, request } from './pool-fixture';

/** A host whose first call tells the test "the script is running now". */
function signallingHost(): { host: HostCall; running: Promise<void> } {
  const started = deferred();
  return {
    running: started.promise,
    host: () => {
      started.resolve();
      return Promise.resolve(null);
    },
  };
}

const SPIN = "await sdk.cache.get('started');\nwhile (true) {}";

/** Signals the pool's only child; never a wildcard pid. */
function signalOnlyChild(pool: SandboxPool, signal: NodeJS.Signals): number {
  const { pids } = pool.stats();
  const pid = pids[0];
  if (pids.length !== 1 || pid === undefined || pid <= 0) throw new Error(`expected one child, got ${JSON.stringify(pids)}`);
  process.kill(pid, signal);
  return pid;
}

describe('sandbox pool: processes', () => {
  it('runs 50 scripts across 2 processes', async () => {
    const pool = new SandboxPool({ processes: 2, runsPerProcess: 8 });
    await pool.start();
    try {
      expect(pool.stats()).toMatchObject({ processes: 2, capacity: 16, busy: 0, queued: 0, restarts: 0 });
      expect(new Set(pool.stats().pids).size).toBe(2);
      const runs = Array.from({ length: 50 }, (_, i) =>
        pool.run(
          request(
            'await new Promise((r) => setTimeout(r, 5));\nmodule.exports = ({ input }) => ({ i: input.i, square: input.i * input.i });',
            {
              isolationKey: `tenant-${i % 5}`,
              globals: { input: { i } },
            },
          ),
        ),
      );
      expect(pool.stats().busy).toBe(16);
      expect(pool.stats().queued).toBe(34);
      const outcomes = await Promise.all(runs);
      expect(outcomes.map((o) => (o.status === 'completed' ? o.output : o))).toEqual(
        Array.from({ length: 50 }, (_, i) => ({ i, square: i * i })),
      );
      expect(pool.stats()).toMatchObject({ busy: 0, queued: 0, restarts: 0 });
    } finally {
      await pool.close(0);
    }
  });

  describe('with one process', () => {
    let pool: SandboxPool;
    beforeEach(async () => {
      pool = new SandboxPool({ processes: 1, runsPerProcess: 2 });
      await pool.start();
    });
    afterEach(() => pool.close(0));

    it('queues runs past capacity and starts them as slots free up', async () => {
      const gate = deferred<unknown>();
      const blockingHost: HostCall = () => gate.promise;
      const first = pool.run(request("results.v = await sdk.cache.get('a');", { host: blockingHost }));
      const second = pool.run(request("results.v = await sdk.cache.get('b');", { host: blockingHost }));
      const third = pool.run(request('results.v = "third";'));
      expect(pool.stats()).toMatchObject({ busy: 2, queued: 1 });
      gate.resolve('released');
      expect(await Promise.all([first, second, third])).toMatchObject([
        { status: 'completed', output: { v: 'released' } },
        { status: 'completed', output: { v: 'released' } },
        { status: 'completed', output: { v: 'third' } },
      ]);
    });

    it('cancels a running run within about 100 ms', async () => {
      const { host, running } = signallingHost();
      const req = request(SPIN, { host });
      const outcome = pool.run(req);
      await running;
      const asked = Date.now();
      expect(pool.cancel(req.runId)).toBe(true);
      expect(await outcome).toMatchObject({ status: 'cancelled' });
      // ~100 ms is the goal; the margin absorbs a busy CI machine.
      expect(Date.now() - asked).toBeLessThan(250);
      expect(await pool.run(request('module.exports = () => 1;'))).toMatchObject({ status: 'completed' });
      expect(pool.stats().restarts).toBe(0);
    });

    it('cancels a queued run before it starts, and knows nothing of unknown ids', async () => {
      const gate = deferred<unknown>();
      const blockers = [1, 2].map(() => pool.run(request("await sdk.cache.get('x');", { host: () => gate.promise })));
      let ran = false;
      const queued = request("await sdk.cache.get('q');", {
        host: () => {
          ran = true;
          return Promise.resolve(null);
        },
      });
      const outcome = pool.run(queued);
      expect(pool.cancel(queued.runId)).toBe(true);
      expect(await outcome).toMatchObject({ status: 'cancelled', durationMs: 0 });
      expect(pool.cancel('no-such-run')).toBe(false);
      gate.resolve(null);
      await Promise.all(blockers);
      expect(ran).toBe(false);
    });

    it('fails a lone run whose process is SIGKILLed with MEMORY_LIMIT, replaces the process and keeps serving', async () => {
      const { host, running } = signallingHost();
      const outcome = pool.run(request(SPIN, { host }));
      await running;
      const pid = signalOnlyChild(pool, 'SIGKILL');
      expect(await outcome).toMatchObject({ status: 'failed', error: { code: 'MEMORY_LIMIT' } });
      expect(await pool.run(request('module.exports = () => "after";'))).toMatchObject({ status: 'completed', output: 'after' });
      expect(pool.stats()).toMatchObject({ processes: 1, restarts: 1 });
      expect(pool.stats().pids).not.toContain(pid);
    });

    it('reports every run of a SIGKILLed process as crashed when several were in flight', async () => {
      const first = signallingHost();
      const second = signallingHost();
      const outcomes = [pool.run(request(`${SPIN}`, { host: first.host })), pool.run(request(SPIN, { host: second.host }))];
      await Promise.all([first.running, second.running]);
      signalOnlyChild(pool, 'SIGKILL');
      const results: RunOutcome[] = await Promise.all(outcomes);
      expect(results.map((r) => r.status)).toEqual(['crashed', 'crashed']);
      expect(await pool.run(request('module.exports = () => 2;'))).toMatchObject({ status: 'completed', output: 2 });
    });

    it('kills a frozen process once a run overruns timeoutMs + 1 s and reports TIMEOUT', async () => {
      const { host, running } = signallingHost();
      const started = Date.now();
      const outcome = pool.run(request(SPIN, { host, limits: { timeoutMs: 300 } }));
      await running;
      signalOnlyChild(pool, 'SIGSTOP');
      expect(await outcome).toMatchObject({
        status: 'failed',
        error: { code: 'TIMEOUT', message: 'Script exceeded the time limit of 300 ms' },
      });
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(1300);
      expect(elapsed).toBeLessThan(2500);
      expect(await pool.run(request('module.exports = () => 3;'))).toMatchObject({ status: 'completed', output: 3 });
    });
  });

  it('close() lets running runs finish within the grace period, ends queued ones, and refuses new ones', async () => {
    const pool = new SandboxPool({ processes: 1, runsPerProcess: 1 });
    await pool.start();
    const { host, running } = signallingHost();
    const inFlight = pool.run(
      request("await sdk.cache.get('x');\nawait new Promise((r) => setTimeout(r, 100));\nresults.finished = true;", { host }),
    );
    const queued = pool.run(request('results.never = true;'));
    await running;
    const closing = pool.close(5000);
    await expect(pool.run(request('1'))).rejects.toThrow('SandboxPool is closed');
    expect(await queued).toMatchObject({ status: 'crashed' });
    expect(await inFlight).toMatchObject({ status: 'completed', output: { finished: true } });
    await closing;
    expect(pool.stats()).toMatchObject({ processes: 0, busy: 0 });
  });

  it('close() kills runs that outlive the grace period; they end crashed', async () => {
    const pool = new SandboxPool({ processes: 1, runsPerProcess: 1 });
    await pool.start();
    const { host, running } = signallingHost();
    const outcome = pool.run(request(SPIN, { host }));
    await running;
    const started = Date.now();
    await pool.close(200);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(await outcome).toMatchObject({ status: 'crashed' });
  });

  it('does not hand the worker environment to its children', async () => {
    process.env['KILN_SANDBOX_TEST_SECRET'] = 'postgres://secret';
    const pool = new SandboxPool({ processes: 1, runsPerProcess: 1 });
    try {
      await pool.start();
      const [pid] = pool.stats().pids;
      const { readFileSync } = await import('node:fs');
      const names = readFileSync(`/proc/${pid}/environ`, 'utf8')
        .split('\0')
        .filter(Boolean)
        .map((entry) => entry.split('=')[0]);
      // Node adds its IPC channel variables; nothing else may be there.
      expect(names.sort()).toEqual(['NODE_CHANNEL_FD', 'NODE_CHANNEL_SERIALIZATION_MODE']);
    } finally {
      delete process.env['KILN_SANDBOX_TEST_SECRET'];
      await pool.close(0);
    }
  });
});

describe('sandbox pool: kept sources', () => {
  const emit = (label: string) => `module.exports = () => ({ label: '${label}' });`;
  const labelOf = (outcome: RunOutcome) => (outcome.status === 'completed' ? (outcome.output as { label: string }).label : outcome.status);

  // A key names one source for good, so a child that holds it runs what it holds: a second source under the
  // same key can only show up if the run carried it, i.e. if the pool did not know the child held the key.
  it('sends a kept source once per child, and again after the budget pushed it out', async () => {
    const pool = new SandboxPool({ processes: 1, runsPerProcess: 1, sourceCacheBytes: emit('first').length * 2 * 2 });
    await pool.start();
    try {
      const run = (key: string, label: string) => pool.run({ ...request(emit(label)), sourceKey: key });
      expect(labelOf(await run('script-1:1', 'first'))).toBe('first');
      expect(labelOf(await run('script-1:1', 'other'))).toBe('first');
      expect(labelOf(await run('script-2:1', 'secnd'))).toBe('secnd');
      expect(labelOf(await run('script-1:1', 'other'))).toBe('first');
      // A third key exceeds the two-source budget: the least recently used (script-2) goes.
      expect(labelOf(await run('script-3:1', 'third'))).toBe('third');
      expect(labelOf(await run('script-2:1', 'again'))).toBe('again');
      // Without a key nothing is kept.
      expect(labelOf(await pool.run(request(emit('plain'))))).toBe('plain');
    } finally {
      await pool.close(0);
    }
  });

  it('sends the source again to a child that replaced a dead one', async () => {
    const pool = new SandboxPool({ processes: 1, runsPerProcess: 1 });
    await pool.start();
    try {
      expect(labelOf(await pool.run({ ...request(emit('first')), sourceKey: 'script-1:1' }))).toBe('first');
      // Killed mid-run: its outcome comes back once the pool has seen the process die.
      const { host, running } = signallingHost();
      const killed = pool.run(request(SPIN, { host }));
      await running;
      signalOnlyChild(pool, 'SIGKILL');
      expect((await killed).status).not.toBe('completed');
      expect(labelOf(await pool.run({ ...request(emit('fresh')), sourceKey: 'script-1:1' }))).toBe('fresh');
    } finally {
      await pool.close(0);
    }
  });
});


import { randomUUID } from 'node:crypto';
import { type ApiClient, eventually, KilnStack } from '@kiln/testing';
import { Pool } from 'pg';

// Gateway and worker as separate real processes, real PostgreSQL and Redis.
describe('runs end to end', () => {
  let stack: KilnStack;
  let api: ApiClient;

  beforeAll(async () => {
    stack = await KilnStack.start({ apps: ['gateway', 'worker'], env: { KILN_SANDBOX_PROCESSES: '2', KILN_WORKER_CONCURRENCY: '8' } });
    api = (await stack.tenant()).client;
  });
  afterAll(() => stack?.stop());

  async function createScript(body: Record<string, unknown>) {
    const res = await api.post('/v1/scripts', { name: `s-${Math.random().toString(36).slice(2, 10)}`, ...body });
    expect(res.status).toBe(201);
    return res.body;
  }

  async function runAndWait(source: string, extra: Record<string, unknown> = {}) {
    const res = await api.post('/v1/runs', { source, wait: 20_000, ...extra });
    expect([200, 202]).toContain(res.status);
    return res;
  }

  const poll = (id: string, done = (s: string) => !['pending', 'running'].includes(s)) =>
    eventually(
      async () => {
        const res = await api.get(`/v1/executions/${id}`);
        return done(res.body.status) ? res.body : undefined;
      },
      { timeoutMs: 20_000, what: `execution ${id} to finish` },
    );

  it('accepts an async run with 202 and Location, then the poll shows the result', async () => {
    const script = await createScript({ source: 'module.exports = async ({ input }) => ({ sum: input.a + input.b });' });
    const accepted = await api.post(`/v1/scripts/${script.id}/runs`, { input: { a: 2, b: 3 } });
    expect(accepted.status).toBe(202);
    expect(accepted.body).toEqual({
      executionId: expect.any(String),
      status: 'pending',
      scriptId: script.id,
      scriptVersion: 1,
      createdAt: expect.any(String),
    });
    expect(accepted.headers.get('location')).toBe(`/v1/executions/${accepted.body.executionId}`);
    const done = await poll(accepted.body.executionId);
    expect(done).toMatchObject({ status: 'completed', output: { sum: 5 }, attempts: 1, error: null, trigger: { type: 'api' } });
    expect(new Date(done.finishedAt).getTime()).toBeGreaterThanOrEqual(new Date(done.startedAt).getTime());
    expect(done.durationMs).toEqual(expect.any(Number));
    expect(done.queueWaitMs).toEqual(expect.any(Number));
    expect(done.workerId).toEqual(expect.any(String));
  });

  it('answers 200 with the finished execution in wait mode', async () => {
    const script = await createScript({ source: 'module.exports = ({ input }) => input.n * 2;' });
    const res = await api.post(`/v1/scripts/${script.name}/runs`, { input: { n: 21 }, wait: true });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'completed', output: 42, scriptId: script.id });
  });

  it('answers 202 with the current status when the wait runs out', async () => {
    const res = await api.post('/v1/runs', { source: 'await new Promise(r => setTimeout(r, 1500)); results.ok = true;', wait: 200 });
    expect(res.status).toBe(202);
    expect(['pending', 'running']).toContain(res.body.status);
    expect(await poll(res.body.executionId)).toMatchObject({ status: 'completed', output: { ok: true } });
  });

  it('answers 503 RUN_LOST, not a made-up status, when the waited-for run is gone at the end of the wait', async () => {
    // A wait-mode insert does not wait for the WAL flush, so a PostgreSQL crash
    // can lose it; the row deleted under the waiting caller stands in for that.
    const marker = randomUUID();
    const db = new Pool({ connectionString: stack.database.url, max: 1 });
    try {
      const answer = api.post('/v1/runs', { source: 'await new Promise(r => setTimeout(r, 3000)); results.ok = true;', input: { marker }, wait: 1500 });
      const id = await eventually(
        async () => (await db.query<{ id: string }>(`SELECT id::text FROM executions WHERE input->>'marker' = $1`, [marker])).rows[0]?.id,
        { what: 'the waited-for execution row' },
      );
      await db.query('DELETE FROM executions WHERE id = $1', [id]);
      const res = await answer;
      expect(res.status).toBe(503);
      expect(res.body.error).toMatchObject({ code: 'RUN_LOST' });
    } finally {
      await db.end();
    }
  });

  it.each([
    ['CommonJS handler', 'module.exports = async ({ input, context }) => ({ ok: true, a: input.a, exec: typeof context.executionId });', { ok: true, a: 1, exec: 'string' }],
    ['ESM default export', 'export default async function (ctx) { return ctx.input.a + ctx.input.b; }', 3],
    ['top-level code with await and results', "const v = await Promise.resolve(input.a + 1); results.v = v; console.log('done');", { v: 2 }],
  ])('runs the %s style', async (_style, source, expected) => {
    const res = await runAndWait(source, { input: { a: 1, b: 2 } });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('completed');
    expect(res.body.output).toEqual(expected);
  });

  it('captures console output with levels', async () => {
    const res = await runAndWait("console.log('Evens:', [2, 4]); console.warn({ a: 1 }); console.error(new TypeError('bad'));");
    expect(res.body.logs.map((l: { level: string; message: string }) => [l.level, l.message])).toEqual([
      ['log', 'Evens: 2,4'],
      ['warn', '{"a":1}'],
      ['error', 'TypeError: bad'],
    ]);
  });

  it('records a thrown error with the script line number', async () => {
    const res = await runAndWait("const a = 1;\nconst b = 2;\nthrow new Error('boom ' + (a + b));");
    expect(res.body.status).toBe('failed');
    expect(res.body.error.code).toBe('EXECUTION_ERROR');
    expect(res.body.error.message).toBe('Error: boom 3');
    expect(res.body.error.stack).toMatch(/:3:\d+/);
  });

  it('ends an infinite loop with TIMEOUT near timeoutMs', async () => {
    const res = await runAndWait('while (true) {}', { timeoutMs: 1000 });
    expect(res.body.status).toBe('failed');
    expect(res.body.error.code).toBe('TIMEOUT');
    expect(res.body.durationMs).toBeGreaterThanOrEqual(950);
    expect(res.body.durationMs).toBeLessThan(2500);
  });

  it('ends a never-resolving await with TIMEOUT', async () => {
    const res = await runAndWait('await new Promise(() => {});', { timeoutMs: 800 });
    expect(res.body).toMatchObject({ status: 'failed', error: { code: 'TIMEOUT' } });
  });

  it('ends a 16 MB memory bomb with MEMORY_LIMIT and the next run succeeds', async () => {
    const bomb = await runAndWait('const keep = []; while (true) keep.push(new Array(100000).fill(Math.random()));', { memoryMb: 16, timeoutMs: 20_000 });
    expect(bomb.body).toMatchObject({ status: 'failed', error: { code: 'MEMORY_LIMIT' } });
    const next = await runAndWait('results.fine = 1 + 1;', { memoryMb: 16 });
    expect(next.body).toMatchObject({ status: 'completed', output: { fine: 2 } });
  });

  it('lets escape attempts find nothing', async () => {
    const res = await runAndWait(`
      const probes = {};
      const tryIt = (name, fn) => { try { const v = fn(); probes[name] = typeof v === 'object' && v !== null ? Object.keys(v).slice(0, 5) : typeof v; } catch (e) { probes[name] = 'threw'; } };
      tryIt('process', () => this.constructor.constructor('return typeof process')());
      tryIt('require', () => typeof require);
      tryIt('Buffer', () => typeof Buffer);
      tryIt('inputProcess', () => input.constructor.constructor('return typeof process')());
      tryIt('consoleProcess', () => console.log.constructor('return typeof process')());
      tryIt('globalProcess', () => typeof globalThis.process);
      results.probes = probes;
    `, { input: { x: 1 } });
    expect(res.body.status).toBe('completed');
    const probes = res.body.output.probes;
    for (const key of ['process', 'inputProcess', 'consoleProcess']) expect(['string', 'threw']).toContain(probes[key]);
    const typeofs = await runAndWait(
      "results.t = [typeof process, typeof require, typeof Buffer, this.constructor.constructor('return typeof process')(), input.constructor.constructor('return typeof require')()];",
      { input: {} },
    );
    expect(typeofs.body.output.t).toEqual(['undefined', 'undefined', 'undefined', 'undefined', 'undefined']);
  });

  it('validates input against the inputSchema before enqueueing', async () => {
    const script = await createScript({
      source: 'module.exports = ({ input }) => input.n;',
      inputSchema: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } },
    });
    const bad = await api.post(`/v1/scripts/${script.id}/runs`, { input: { n: 'x' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'INVALID_INPUT', details: { fields: [{ field: 'input.n', message: 'must be integer' }] } });
    const list = await api.get(`/v1/executions?scriptId=${script.id}`);
    expect(list.body.total).toBe(0);
  });

  it('refuses to run a paused script (409 SCRIPT_INACTIVE) and runs a draft by hand', async () => {
    const script = await createScript({ source: 'module.exports = () => 1;', status: 'paused' });
    const res = await api.post(`/v1/scripts/${script.id}/runs`, {});
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('SCRIPT_INACTIVE');
    await api.patch(`/v1/scripts/${script.id}`, { status: 'draft' });
    const draft = await api.post(`/v1/scripts/${script.id}/runs`, { wait: true });
    expect(draft.body).toMatchObject({ status: 'completed', output: 1 });
  });

  it('makes a new immutable version on a source change and runs the current one', async () => {
    const script = await createScript({ source: 'module.exports = () => "v1";' });
    // Runs of version 1 first: the worker and its sandbox processes then hold that source, and must not run it for version 2.
    for (let i = 0; i < 2; i++) expect((await api.post(`/v1/scripts/${script.id}/runs`, { wait: true })).body).toMatchObject({ output: 'v1', scriptVersion: 1 });
    const same = await api.patch(`/v1/scripts/${script.id}`, { description: 'no source change' });
    expect(same.body.version).toBe(1);
    const changed = await api.patch(`/v1/scripts/${script.id}`, { source: 'module.exports = () => "v2";' });
    expect(changed.body.version).toBe(2);
    const versions = await api.get(`/v1/scripts/${script.id}/versions`);
    expect(versions.body.items.map((v: { version: number; source: string }) => [v.version, v.source])).toEqual([
      [2, 'module.exports = () => "v2";'],
      [1, 'module.exports = () => "v1";'],
    ]);
    for (let i = 0; i < 2; i++) expect((await api.post(`/v1/scripts/${script.id}/runs`, { wait: true })).body).toMatchObject({ output: 'v2', scriptVersion: 2 });
  });

  it('returns the first execution for a repeated idempotency key, never a second run', async () => {
    const script = await createScript({ source: 'module.exports = ({ input }) => input;' });
    const key = `idem-${Date.now()}`;
    const [a, b] = await Promise.all([
      api.post(`/v1/scripts/${script.id}/runs`, { input: { n: 1 }, idempotencyKey: key }),
      api.post(`/v1/scripts/${script.id}/runs`, { input: { n: 1 } }, { headers: { 'Idempotency-Key': key } }),
    ]);
    expect(a.body.executionId).toBe(b.body.executionId);
    const c = await api.post(`/v1/scripts/${script.id}/runs`, { input: { n: 2 }, idempotencyKey: key, wait: true });
    expect(c.body.id ?? c.body.executionId).toBe(a.body.executionId);
    expect(c.headers.get('idempotent-replayed')).toBe('true');
    const list = await api.get(`/v1/executions?scriptId=${script.id}`);
    expect(list.body.total).toBe(1);
  });

  it('cancels a running execution within a second', async () => {
    const res = await api.post('/v1/runs', { source: 'await new Promise(r => setTimeout(r, 30000));', timeoutMs: 60_000 });
    await poll(res.body.executionId, (s) => s === 'running');
    const started = Date.now();
    const cancel = await api.post(`/v1/executions/${res.body.executionId}/cancel`);
    expect(cancel.status).toBe(200);
    expect(cancel.body.status).toBe('cancelled');
    expect(Date.now() - started).toBeLessThan(1000);
    const again = await api.post(`/v1/executions/${res.body.executionId}/cancel`);
    expect(again.status).toBe(409);
  });

  it('retries a finished execution with the same input', async () => {
    const first = await runAndWait('module.exports = ({ input }) => input.v * 10;', { input: { v: 4 } });
    const retry = await api.post(`/v1/executions/${first.body.id}/retry`, { wait: true });
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({ status: 'completed', output: 40, retryOf: first.body.id, trigger: { type: 'retry', retryOf: first.body.id } });
    expect(retry.body.id).not.toBe(first.body.id);
  });

  it('lists executions with scriptId, status, from, to, limit and offset', async () => {
    const script = await createScript({ source: 'module.exports = ({ input }) => { if (input.fail) throw new Error("no"); return 1; };' });
    const before = new Date().toISOString();
    for (const fail of [false, true, false]) await api.post(`/v1/scripts/${script.id}/runs`, { input: { fail }, wait: true });
    const all = await api.get(`/v1/executions?scriptId=${script.id}`);
    expect(all.body).toMatchObject({ total: 3, limit: 50, offset: 0 });
    const failed = await api.get(`/v1/executions?scriptId=${script.id}&status=failed`);
    expect(failed.body.total).toBe(1);
    expect(failed.body.items[0].error.code).toBe('EXECUTION_ERROR');
    const paged = await api.get(`/v1/executions?scriptId=${script.id}&limit=2&offset=2`);
    expect(paged.body.items).toHaveLength(1);
    const windowed = await api.get(`/v1/executions?scriptId=${script.id}&from=${encodeURIComponent(before)}&to=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
    expect(windowed.body.total).toBe(3);
    const future = await api.get(`/v1/executions?scriptId=${script.id}&from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
    expect(future.body.total).toBe(0);
    const bad = await api.get('/v1/executions?status=exploded');
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.fields[0].field).toBe('status');
  });

  it('validates code with a real parser (line and column)', async () => {
    const ok = await api.post('/v1/code/validate', { code: 'const x = 1;' });
    expect(ok.body).toMatchObject({ valid: true, error: null });
    const bad = await api.post('/v1/code/validate', { code: 'const x = 1;\nfunction (' });
    expect(bad.body).toEqual({ valid: false, error: { message: 'Unexpected token', line: 2, column: 10 } });
  });

  it('keeps executions readable after their script is deleted', async () => {
    const script = await createScript({ source: 'module.exports = () => "kept";' });
    const run = await api.post(`/v1/scripts/${script.id}/runs`, { wait: true });
    expect((await api.delete(`/v1/scripts/${script.id}`)).status).toBe(204);
    expect((await api.get(`/v1/scripts/${script.id}`)).status).toBe(404);
    const execution = await api.get(`/v1/executions/${run.body.id}`);
    expect(execution.body).toMatchObject({ status: 'completed', output: 'kept', scriptId: script.id });
  });
});

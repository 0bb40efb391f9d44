import { type ApiClient, eventually, KilnStack } from '@kiln/testing';
import type { Queue } from 'bullmq';

// Backpressure end to end (KILN_QUEUE_MAX_WAIT_MS): real gateway and worker
// processes. No worker at first, so the backlog only ages; the gateway's
// answers (202, held, 503) are what is observed, never timing.
describe('backpressure on new runs', () => {
  let stack: KilnStack;
  let api: ApiClient;
  let queue: Queue;

  beforeAll(async () => {
    stack = await KilnStack.start({ apps: ['gateway'], env: { KILN_QUEUE_MAX_WAIT_MS: '400', KILN_QUEUE_HOLD_MAX_MS: '4000' } });
    api = (await stack.tenant()).client;
    queue = stack.executionsQueue();
  });
  afterAll(() => stack?.stop());

  const run = (n: number) => api.post('/v1/runs', { source: 'results.n = input.n;', input: { n } });

  it('holds runs while the oldest waiting run is older than the limit, refuses them after the hold, and lets them in once workers catch up', async () => {
    const accepted: string[] = [];
    const first = await run(0);
    expect(first.status).toBe(202);
    accepted.push(first.body.executionId);

    // Nothing consumes the queue: once its oldest run has waited 400 ms, a new one is held for 4 s, then refused.
    const refused = await eventually(
      async () => {
        const res = await run(accepted.length);
        if (res.status === 202) accepted.push(res.body.executionId);
        return res.status === 503 ? res : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 100, what: 'a run refused with 503' },
    );
    expect(refused.body.error).toMatchObject({ code: 'QUEUE_FULL' });
    expect(refused.body.error.message).toContain('KILN_QUEUE_MAX_WAIT_MS');
    expect(refused.headers.get('retry-after')).toBe('4');
    // A refused run leaves nothing behind: the executions are exactly the accepted ones.
    const listed = await api.get('/v1/executions?limit=100');
    expect((listed.body.items as { id: string }[]).map((e) => e.id).sort()).toEqual([...accepted].sort());

    // A run held now goes on as soon as a worker has taken the backlog.
    const held = run(99);
    await stack.startApp('worker');
    const late = await held;
    expect(late.status).toBe(202);
    const metrics = (await api.get('/metrics', { key: null })).text;
    const counter = (name: string) => Number(metrics.split('\n').find((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))?.split(' ').pop() ?? 0);
    expect(counter('kiln_runs_refused_queue_full_total')).toBe(1);
    // The refused run and the late one were both held.
    expect(counter('kiln_runs_held_total')).toBe(2);
    for (const id of [...accepted, late.body.executionId as string]) {
      await eventually(
        async () => {
          const res = await api.get(`/v1/executions/${id}`);
          return res.body.status === 'completed' ? true : undefined;
        },
        { timeoutMs: 30_000, what: `execution ${id} to complete` },
      );
    }
  });

  it('never holds runs for a paused queue: its backlog is the operator’s choice', async () => {
    await queue.pause();
    const first = await run(1);
    expect(first.status).toBe(202);
    // Well past the limit, the paused queue still takes runs at once.
    await eventually(
      async () => {
        const res = await api.get(`/v1/executions/${first.body.executionId}`);
        return Date.now() - new Date(res.body.createdAt).getTime() > 1500 ? true : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 200, what: 'the paused backlog to age' },
    );
    const started = Date.now();
    const second = await run(2);
    expect(second.status).toBe(202);
    expect(Date.now() - started).toBeLessThan(1500);
    await queue.resume();
  });
});

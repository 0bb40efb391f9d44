import { JobName, executionBatchPayload } from '@kiln/queue';
import { type ApiClient, eventually, KilnStack, type AppProcess } from '@kiln/testing';
import type { Queue } from 'bullmq';

// Worker lifecycle across real processes: cancel before any worker exists,
// SIGKILL mid-run with another worker finishing the job, retries exhausted
// (WORKER_LOST), and graceful SIGTERM.
const FAST_RECOVERY = { KILN_JOB_LOCK_MS: '2000', KILN_STALLED_INTERVAL_MS: '1000' };

async function workerId(worker: AppProcess): Promise<string> {
  const line = await worker.waitForLog((l) => l.msg === 'worker started');
  return line.workerId as string;
}

function poller(api: ApiClient) {
  return (id: string, done: (e: any) => boolean, timeoutMs = 30_000) =>
    eventually(
      async () => {
        const res = await api.get(`/v1/executions/${id}`);
        return done(res.body) ? res.body : undefined;
      },
      { timeoutMs, what: `execution ${id}` },
    );
}

describe('workers', () => {
  describe('with recovery after crashes', () => {
    let stack: KilnStack;
    let api: ApiClient;
    let poll: ReturnType<typeof poller>;

    beforeAll(async () => {
      stack = await KilnStack.start({ apps: ['gateway'], env: FAST_RECOVERY });
      api = (await stack.tenant()).client;
      poll = poller(api);
    });
    afterAll(() => stack?.stop());

    it('cancels a pending execution so it never runs, even after a worker starts', async () => {
      const pending = await api.post('/v1/runs', { source: 'results.ran = true;' });
      expect(pending.status).toBe(202);
      const cancel = await api.post(`/v1/executions/${pending.body.executionId}/cancel`);
      expect(cancel.status).toBe(200);
      expect(cancel.body.status).toBe('cancelled');

      await stack.startApp('worker');
      // A run submitted after the cancelled one completes, so the worker has passed it by.
      const later = await api.post('/v1/runs', { source: 'results.after = true;', wait: 20_000 });
      expect(later.body).toMatchObject({ status: 'completed', output: { after: true } });
      const cancelled = await api.get(`/v1/executions/${pending.body.executionId}`);
      expect(cancelled.body).toMatchObject({ status: 'cancelled', startedAt: null, output: null, attempts: 0 });
    });

    it('finishes on another worker when the one running it is SIGKILLed mid-run', async () => {
      const first = stack.app('worker');
      const firstId = await workerId(first);
      const run = await api.post('/v1/runs', { source: 'await new Promise(r => setTimeout(r, 3000)); results.done = true;', timeoutMs: 20_000 });
      const running = await poll(run.body.executionId, (e) => e.status === 'running');
      expect(running.workerId).toBe(firstId);

      // Killed before the second worker exists, so only recovery can finish the run.
      await first.kill();
      const second = await stack.startApp('worker');
      const secondId = await workerId(second);

      const done = await poll(run.body.executionId, (e) => e.status === 'completed', 40_000);
      expect(done).toMatchObject({ output: { done: true }, workerId: secondId, attempts: 2 });
    });

    it('finishes running work on SIGTERM before exiting', async () => {
      const worker = stack.app('worker');
      const run = await api.post('/v1/runs', { source: 'await new Promise(r => setTimeout(r, 1500)); results.graceful = true;' });
      await poll(run.body.executionId, (e) => e.status === 'running');
      const exit = await worker.stop('SIGTERM');
      expect(exit.code === 0 || exit.signal === 'SIGTERM').toBe(true);
      const done = await api.get(`/v1/executions/${run.body.executionId}`);
      expect(done.body).toMatchObject({ status: 'completed', output: { graceful: true }, attempts: 1 });
    });
  });

  describe('with runs accepted together (one batch job)', () => {
    let stack: KilnStack;
    let api: ApiClient;
    let poll: ReturnType<typeof poller>;
    let queue: Queue;

    beforeAll(async () => {
      // Room for all 12 at once: this is about recovery, not the tenant's limit.
      stack = await KilnStack.start({ apps: ['gateway'], env: { ...FAST_RECOVERY, KILN_TENANT_CONCURRENCY: '20' } });
      api = (await stack.tenant()).client;
      poll = poller(api);
      queue = stack.executionsQueue();
    });
    afterAll(() => stack?.stop());

    it('runs every run of a batch once, and finishes them on another worker when the first dies mid-batch', async () => {
      // Long enough that all twelve are still running when the worker is killed, even on a loaded machine.
      const source = 'await new Promise(r => setTimeout(r, 10000)); results.n = input.n;';
      const accepted = await Promise.all(Array.from({ length: 12 }, (_, n) => api.post('/v1/runs', { source, input: { n }, timeoutMs: 20_000 })));
      expect(accepted.every((res) => res.status === 202)).toBe(true);
      const ids = accepted.map((res) => res.body.executionId as string);

      // No worker yet: the jobs wait, and runs accepted together share one.
      const waiting = await queue.getJobs(['wait']);
      const batched = waiting.filter((job) => job.name === JobName.ExecutionBatch).flatMap((job) => executionBatchPayload.parse(job.data).runs.map((r) => r.executionId));
      expect(batched.length).toBeGreaterThan(1);
      expect(waiting.length).toBeLessThan(ids.length);

      const first = await stack.startApp('worker');
      const firstId = await workerId(first);
      await eventually(
        async () => {
          const views = await Promise.all(ids.map((id) => api.get(`/v1/executions/${id}`)));
          return views.every((v) => v.body.status === 'running' && v.body.workerId === firstId) ? true : undefined;
        },
        { timeoutMs: 30_000, what: 'all 12 runs running on the first worker' },
      );
      await first.kill();
      const second = await stack.startApp('worker');
      const secondId = await workerId(second);

      for (const [n, id] of ids.entries()) {
        const done = await poll(id, (e) => e.status === 'completed', 60_000);
        expect(done).toMatchObject({ output: { n }, workerId: secondId, attempts: 2 });
      }
    });
  });

  describe('when attempts are exhausted', () => {
    let stack: KilnStack;

    beforeAll(async () => {
      stack = await KilnStack.start({ apps: ['gateway', 'worker'], env: { ...FAST_RECOVERY, KILN_JOB_ATTEMPTS: '1' } });
    });
    afterAll(() => stack?.stop());

    it('ends the execution WORKER_LOST instead of leaving it running', async () => {
      const api = (await stack.tenant()).client;
      const poll = poller(api);
      const run = await api.post('/v1/runs', { source: 'await new Promise(r => setTimeout(r, 20000));', timeoutMs: 60_000 });
      await poll(run.body.executionId, (e) => e.status === 'running');
      await stack.app('worker').kill();
      await stack.startApp('worker');
      const lost = await poll(run.body.executionId, (e) => e.status === 'failed', 30_000);
      expect(lost.error.code).toBe('WORKER_LOST');
      expect(lost.finishedAt).not.toBeNull();
    });
  });
});

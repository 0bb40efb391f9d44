import { Queue, type Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { createTestRedisPrefix, eventually } from '@kiln/testing';
import { PromptWorker } from '../src';

/**
 * PromptWorker leans on how BullMQ's fetch loop treats an empty fetch; these
 * run it against the installed BullMQ and real Redis. The block timeout is set
 * far above the test timeout, so a job left without its wake-up marker fails
 * the test instead of being picked up late.
 */
describe('PromptWorker (real Redis, installed BullMQ)', () => {
  const redisEnv = createTestRedisPrefix();
  const connections: Redis[] = [];
  const closers: (() => Promise<void>)[] = [];
  let queueNumber = 0;

  function connection(): Redis {
    const redis = new Redis(redisEnv.url, { maxRetriesPerRequest: null });
    connections.push(redis);
    return redis;
  }

  function queue(): { name: string; queue: Queue } {
    const name = `prompt-${++queueNumber}`;
    const q = new Queue(name, { connection: connection(), prefix: redisEnv.prefix });
    closers.push(() => q.close());
    return { name, queue: q };
  }

  function startWorker<W extends Worker>(make: (options: { connection: Redis; prefix: string; concurrency: number; drainDelay: number; autorun: false }) => W): W {
    const worker = make({ connection: connection(), prefix: redisEnv.prefix, concurrency: 4, drainDelay: 60, autorun: false });
    closers.push(() => worker.close());
    void worker.run();
    return worker;
  }

  /** A PromptWorker whose jobs do nothing, and the ids of those it completed. */
  async function startCountingWorker(name: string): Promise<{ worker: PromptWorker; completed: Set<string> }> {
    const worker = startWorker((options) => new PromptWorker(name, () => Promise.resolve('done'), options));
    const completed = new Set<string>();
    worker.on('completed', (job) => completed.add(String(job.id)));
    await worker.waitUntilReady();
    return { worker, completed };
  }

  afterEach(async () => {
    while (closers.length > 0) await closers.pop()?.();
  });

  afterAll(async () => {
    for (const redis of connections) redis.disconnect();
    await redisEnv.cleanup();
  });

  it('runs jobs that arrive one by one on an idle queue with one fetch each, and leaves no stale marker', async () => {
    const { name, queue: q } = queue();
    const { worker, completed } = await startCountingWorker(name);
    // Its first fetch, before any job: the queue is empty.
    await waitFor(() => worker.fetchCounts.fetches === 1);

    for (let i = 0; i < 20; i++) {
      await q.add('job', { i }, { jobId: `one-${i}` });
      // Finished, and the worker has looked for more: the next job arrives at an idle worker (BullMQ's own loop would
      // otherwise hand it over with the previous job's completion).
      await waitFor(() => completed.has(`one-${i}`) && worker.fetchCounts.emptyChecks >= i + 1);
    }

    // One real fetch per job (BullMQ's loop makes three); the one right after it skipped; the next one a check.
    expect(worker.fetchCounts.fetches).toBe(1 + 20);
    expect(worker.fetchCounts.skipped).toBe(20);
    expect(worker.fetchCounts.emptyFound).toBeGreaterThanOrEqual(15);
    // The stale marker is gone, so the idle worker stays in its blocking wait.
    await waitFor(() => worker.fetchCounts.emptyChecks === 20);
    expect(await connections[0]?.zcard(`${redisEnv.prefix}:${name}:marker`)).toBe(0);
  }, 20_000);

  it('stops checking while delayed jobs are there (a cron schedule keeps one for good), and still runs every job', async () => {
    const { name, queue: q } = queue();
    const { worker, completed } = await startCountingWorker(name);
    await q.add('job', {}, { jobId: 'far-future', delay: 3_600_000 });
    await waitFor(() => worker.fetchCounts.fetches >= 1);

    for (let i = 0; i < 5; i++) {
      await q.add('job', { i }, { jobId: `with-delayed-${i}` });
      await waitFor(() => completed.has(`with-delayed-${i}`));
    }
    // One check found the delayed job; the next four jobs went BullMQ's way without one.
    expect(worker.fetchCounts.emptyChecks).toBe(1);
    expect(worker.fetchCounts.emptyFound).toBe(0);
    expect(await q.getDelayedCount()).toBe(1);
  }, 20_000);

  it('runs a burst of jobs, at most its concurrency at a time, each once', async () => {
    const { name, queue: q } = queue();
    let running = 0;
    let mostAtOnce = 0;
    const seen = new Map<string, number>();
    let resolveAll!: () => void;
    const allDone = new Promise<void>((resolve) => (resolveAll = resolve));
    const worker = startWorker(
      (options) =>
        new PromptWorker(
          name,
          async (job) => {
            running++;
            mostAtOnce = Math.max(mostAtOnce, running);
            seen.set(String(job.id), (seen.get(String(job.id)) ?? 0) + 1);
            await new Promise((resolve) => setImmediate(resolve));
            running--;
            if (seen.size === 60) resolveAll();
          },
          options,
        ),
    );
    await worker.waitUntilReady();
    await q.addBulk(Array.from({ length: 60 }, (_, i) => ({ name: 'job', data: { i }, opts: { jobId: `burst-${i}` } })));
    await allDone;
    expect([...seen.values()].every((count) => count === 1)).toBe(true);
    expect(mostAtOnce).toBeLessThanOrEqual(4);
    expect(mostAtOnce).toBeGreaterThan(1);
  }, 20_000);

  it('takes a job added while another runs, and a delayed job when it is due', async () => {
    const { name, queue: q } = queue();
    const started: string[] = [];
    let releaseFirst!: () => void;
    const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve));
    const waiters = new Map<string, () => void>();
    const worker = startWorker(
      (options) =>
        new PromptWorker(
          name,
          async (job) => {
            started.push(String(job.id));
            waiters.get(String(job.id))?.();
            if (job.id === 'job-first') await firstHeld;
          },
          options,
        ),
    );
    await worker.waitUntilReady();
    const startedJob = (id: string) => new Promise<void>((resolve) => waiters.set(id, resolve));

    const first = startedJob('job-first');
    await q.add('job', {}, { jobId: 'job-first' });
    await first;
    await waitFor(() => worker.fetchCounts.emptyChecks === 1);
    const second = startedJob('job-second');
    await q.add('job', {}, { jobId: 'job-second' });
    await second;
    expect(started).toEqual(['job-first', 'job-second']);
    releaseFirst();

    const delayed = startedJob('job-delayed');
    await q.add('job', {}, { jobId: 'job-delayed', delay: 300 });
    await delayed;
    expect(started).toEqual(['job-first', 'job-second', 'job-delayed']);
  }, 20_000);
});

/** Polls a condition of this process (no I/O to wait on); fails after 5 s instead of hanging. */
function waitFor(condition: () => boolean): Promise<true> {
  return eventually(() => Promise.resolve(condition() ? true : undefined), { intervalMs: 2, timeoutMs: 5000, what: condition.toString() });
}

import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createTestRedisPrefix } from '@kiln/testing';
import { ExecutionQueue, JobName, MAX_RUNS_PER_BATCH, executionBatchPayload, executionRunPayload } from '../src';

// New runs accepted together ride in one job: what a burst of API runs costs the queue.
describe('ExecutionQueue.enqueueNewRun (real Redis)', () => {
  const redisEnv = createTestRedisPrefix();
  const redis = new Redis(redisEnv.url);
  let queue: ExecutionQueue;

  beforeAll(() => {
    queue = new ExecutionQueue({ connection: redis, prefix: redisEnv.prefix, attempts: 3 });
  });

  afterEach(async () => {
    await queue.queue.obliterate({ force: true });
  });

  afterAll(async () => {
    await queue.close();
    redis.disconnect();
    await redisEnv.cleanup();
  });

  async function runsInQueue(): Promise<{ jobs: number; batches: number; executionIds: string[] }> {
    const jobs = await queue.queue.getJobs(['wait']);
    const executionIds: string[] = [];
    let batches = 0;
    for (const job of jobs) {
      if (job.name === JobName.ExecutionBatch) {
        batches += 1;
        executionIds.push(...executionBatchPayload.parse(job.data).runs.map((run) => run.executionId));
      } else {
        expect(job.name).toBe(JobName.ExecutionRun);
        const { executionId } = executionRunPayload.parse(job.data);
        expect(job.id).toBe(executionId);
        executionIds.push(executionId);
      }
    }
    return { jobs: jobs.length, batches, executionIds };
  }

  it('adds a run that arrives alone as an ordinary execution.run job', async () => {
    const id = randomUUID();
    await queue.enqueueNewRun(id, randomUUID());
    const { jobs, batches, executionIds } = await runsInQueue();
    expect({ jobs, batches, executionIds }).toEqual({ jobs: 1, batches: 0, executionIds: [id] });
  });

  it('puts runs accepted at the same time into batch jobs, each run exactly once', async () => {
    const tenantId = randomUUID();
    const ids = Array.from({ length: 100 }, () => randomUUID());
    await Promise.all(ids.map((id) => queue.enqueueNewRun(id, tenantId)));
    const { jobs, batches, executionIds } = await runsInQueue();
    expect(executionIds.sort()).toEqual([...ids].sort());
    expect(batches).toBeGreaterThan(0);
    expect(jobs).toBeLessThan(ids.length / 4);

    for (const job of await queue.queue.getJobs(['wait'])) {
      if (job.name !== JobName.ExecutionBatch) continue;
      const { runs } = executionBatchPayload.parse(job.data);
      expect(runs.length).toBeLessThanOrEqual(MAX_RUNS_PER_BATCH);
      expect(runs.every((run) => run.tenantId === tenantId)).toBe(true);
      expect(job.opts.attempts).toBe(3);
      expect(job.id).toBe(`batch.${runs[0]?.executionId}`);
    }
  });

  it('carries the script version a run is of, alone and in a batch, and nothing for an ad-hoc run', async () => {
    const tenantId = randomUUID();
    const script = { id: randomUUID(), version: 3 };
    const alone = randomUUID();
    await queue.enqueueNewRun(alone, tenantId, script);
    const together = Array.from({ length: 8 }, () => randomUUID());
    await Promise.all(together.map((id, i) => queue.enqueueNewRun(id, tenantId, i % 2 === 0 ? script : null)));
    const scriptOf = new Map<string, unknown>();
    for (const job of await queue.queue.getJobs(['wait'])) {
      const runs = job.name === JobName.ExecutionBatch ? executionBatchPayload.parse(job.data).runs : [executionRunPayload.parse(job.data)];
      for (const run of runs) scriptOf.set(run.executionId, run.script);
    }
    expect(scriptOf.get(alone)).toEqual(script);
    expect(together.map((id) => scriptOf.get(id))).toEqual(together.map((_, i) => (i % 2 === 0 ? script : undefined)));
  });
});

import { type Job, type Processor, Worker, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { LuaScript } from './lua-script';

/**
 * 1 when nothing can be taken: no job waiting, prioritized or delayed. It
 * then also removes the base marker (member "0"), which every job BullMQ
 * hands out leaves behind so that another worker wakes up; with nothing left
 * to take, that marker would only wake a worker to ask in vain. One script,
 * so a job added at the same time either is seen (and the marker kept) or
 * adds its marker after this removed the old one. 0 when jobs wait; 2 when
 * only delayed jobs are there (their timing is BullMQ's fetch's business).
 */
const NOTHING_TO_TAKE = new LuaScript(
  'kiln-queue-nothing-to-take',
  `if redis.call('LLEN', KEYS[1]) > 0 or redis.call('ZCARD', KEYS[2]) > 0 then return 0 end
if redis.call('ZCARD', KEYS[3]) > 0 then return 2 end
redis.call('ZREM', KEYS[4], '0')
return 1`,
);

/**
 * After a check found delayed jobs (a cron schedule keeps its next run
 * there for good), the worker fetches as BullMQ does for this long: the
 * check would only add a round trip.
 */
const CHECK_PAUSE_AFTER_DELAYED_MS = 10_000;

export type PromptWorkerOptions = WorkerOptions & { connection: Redis };

/**
 * A BullMQ `Worker` that starts a job as soon as Redis hands it over, and
 * goes back to waiting without two empty round trips.
 *
 * BullMQ's fetch loop, on a queue that is not backed up, spends five round
 * trips on each job: the blocking wait woken by the job's marker, the fetch
 * that takes the job, a second fetch made at once (and waited for before the
 * job starts: 0.5–0.7 ms of a 6 ms wait-mode run, measured on a 2-core
 * machine), then a blocking wait woken at once by the marker the first fetch
 * left behind, a third, empty fetch, and the wait for the next job. Here:
 *
 * 1. the fetch made in the same turn of the event loop as the one that took a
 *    job returns "nothing" without asking Redis, so the loop starts the job it
 *    holds straight away and asks again on its next turn;
 * 2. when that job was taken by a worker that had found the queue empty (the
 *    idle case), that next ask is first a small script: when there is
 *    nothing to take, it removes the stale marker and the loop goes back to
 *    its blocking wait; otherwise BullMQ fetches as usual.
 *
 * Three round trips per job instead of five, none of them before the job
 * starts. While the queue holds delayed jobs (cron schedules, runs deferred
 * by their tenant's concurrency limit) the check is left out for a while,
 * and a job costs BullMQ's five round trips, still none before it starts. A busy worker (its last answer from Redis was a job) skips the
 * check, which would only add a round trip there, and its queue still hands
 * out jobs with each finished one (BullMQ's fetch-next on completion).
 *
 * `moveToActive` and `nextJobFromJobData` are BullMQ's protected extension
 * points for fetching; `libs/queue/test/prompt-worker.int-spec.ts` pins the
 * loop behaviour this relies on against the installed BullMQ.
 */
export class PromptWorker extends Worker {
  /** Redis round trips for fetching: BullMQ's own fetches, and the checks above. */
  readonly fetchCounts = { fetches: 0, skipped: 0, emptyChecks: 0, emptyFound: 0 };
  private justTookJob = false;
  private checkBeforeFetch = false;
  /** Whether the last answer BullMQ got from Redis (a fetch, a completion's fetch-next, the check) was "no job". */
  private lastAnswerEmpty = true;
  private tookAfterEmpty = false;
  private checkAgainAt = 0;
  private readonly redis: Redis;
  private readonly forgetTakenJob = (): void => {
    this.justTookJob = false;
  };

  constructor(name: string, processor: Processor, options: PromptWorkerOptions) {
    super(name, processor, options);
    this.redis = options.connection;
  }

  protected override async moveToActive(token: string, name?: string): Promise<Job> {
    if (this.justTookJob) {
      this.justTookJob = false;
      this.checkBeforeFetch = this.tookAfterEmpty && Date.now() >= this.checkAgainAt;
      this.fetchCounts.skipped++;
      // BullMQ's own type says Job, but its fetch loop takes undefined as "no job".
      return undefined as unknown as Job;
    }
    if (this.checkBeforeFetch) {
      this.checkBeforeFetch = false;
      this.fetchCounts.emptyChecks++;
      if (await this.nothingToTake()) {
        this.fetchCounts.emptyFound++;
        // Marks the worker drained (as an empty fetch does), so its next fetch is the blocking wait.
        return this.nextJobFromJobData(undefined, undefined, token);
      }
    }
    this.fetchCounts.fetches++;
    const afterEmpty = this.lastAnswerEmpty;
    const job = await super.moveToActive(token, name);
    if (job) {
      this.tookAfterEmpty = afterEmpty;
      // Only a fetch in this same turn (BullMQ's, in the same chain of promises, no I/O between) is skipped.
      // One after a blocking wait woken by a new job's marker always asks: skipping it would leave that job waiting.
      this.justTookJob = true;
      setImmediate(this.forgetTakenJob);
    }
    return job;
  }

  protected override nextJobFromJobData(...args: Parameters<Worker['nextJobFromJobData']>): Promise<Job> {
    this.lastAnswerEmpty = !args[0];
    return super.nextJobFromJobData(...args);
  }

  private async nothingToTake(): Promise<boolean> {
    const keys = [this.toKey('wait'), this.toKey('prioritized'), this.toKey('delayed'), this.toKey('marker')];
    const answer = await NOTHING_TO_TAKE.run<number>(this.redis, keys, []);
    if (answer === 2) this.checkAgainAt = Date.now() + CHECK_PAUSE_AFTER_DELAYED_MS;
    return answer === 1;
  }
}

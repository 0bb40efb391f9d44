import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { KilnConfig } from '@kiln/config';
import type { Logger } from '@kiln/observability';
import { InjectConfig, InjectLogger, InjectRedis } from '@kiln/platform';
import { closeWorkerWithin, createRedis, ExecutionSignals, executionRunPayload, JobName, QueueName, waitForRedis } from '@kiln/queue';
import { SandboxPool } from '@kiln/sandbox';
import { type Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { ExecutionRunner, RetryableRunError } from './execution-runner';
import { TenantConcurrencyGate } from './tenant-concurrency-gate';
import { TriggerJobs } from './trigger-jobs';

/**
 * The BullMQ consumer of `executions`. It starts after the whole app has
 * booted (never in a constructor) and, on SIGTERM, stops taking jobs and lets
 * running ones finish within the grace period.
 */
@Injectable()
export class ExecutionWorker implements OnApplicationBootstrap, OnApplicationShutdown {
  private worker: Worker | null = null;
  private connection: Redis | null = null;

  constructor(
    @InjectConfig() private readonly config: KilnConfig,
    @InjectLogger() private readonly logger: Logger,
    @InjectRedis() private readonly redis: Redis,
    private readonly runner: ExecutionRunner,
    private readonly signals: ExecutionSignals,
    @Inject(SandboxPool) private readonly pool: SandboxPool,
    private readonly gate: TenantConcurrencyGate,
    private readonly triggers: TriggerJobs,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await waitForRedis(this.redis, this.config.redis.url);
    await this.pool.start();
    this.signals.onCancel((executionId) => {
      if (this.pool.cancel(executionId)) this.logger.info({ executionId }, 'cancel requested: isolate disposed');
    });
    await this.signals.listen({ cancel: true });

    const { worker: w } = this.config;
    this.connection = createRedis(this.config.redis.url, 'worker', `worker:${w.id}`);
    this.worker = new Worker(QueueName.Executions, (job, token) => this.process(job, token), {
      connection: this.connection,
      prefix: this.config.redis.prefix,
      concurrency: w.concurrency,
      lockDuration: w.jobLockMs,
      stalledInterval: w.stalledIntervalMs,
      // A job whose worker died comes back this many times before it is failed (WORKER_LOST).
      maxStalledCount: Math.max(0, w.jobAttempts - 1),
      autorun: false,
    });
    this.worker.on('error', (err) => this.logger.error({ err }, 'executions worker error'));
    this.worker.on('failed', (job, err) => {
      if (!job) return;
      const exhausted = job.attemptsMade >= (job.opts.attempts ?? 1) || /stalled more than allowable limit/i.test(err.message);
      if (job.name === JobName.ExecutionRun && exhausted) {
        const { executionId } = job.data as { executionId: string };
        this.runner.markLost(executionId, `(${err.message})`).catch((e: unknown) => this.logger.error({ err: e, executionId }, 'could not mark execution lost'));
      }
    });
    void this.worker.run();
    this.logger.info({ concurrency: w.concurrency, sandboxProcesses: w.sandboxProcesses, workerId: w.id }, 'worker consuming executions');
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.worker) {
      const graceMs = this.config.shutdownGraceMs;
      await closeWorkerWithin(this.worker, graceMs, () =>
        // Runs still going are left to another worker's stalled-job recovery.
        this.logger.warn({ graceMs }, 'grace period over; closing the worker with runs still active'),
      );
    }
    await this.pool.close(1000).catch(() => undefined);
    this.connection?.disconnect();
  }

  private async process(job: Job, token?: string): Promise<unknown> {
    switch (job.name) {
      case JobName.ExecutionRun: {
        const { executionId, tenantId } = executionRunPayload.parse(job.data);
        const attempts = job.opts.attempts ?? 1;
        // Per-tenant concurrency: when the tenant is full, the job goes back to the queue still pending (DelayedError).
        const slot = await this.gate.enter(job, token, executionId, tenantId);
        try {
          return await this.runner.run(executionId, { number: job.attemptsMade + 1, isLast: job.attemptsMade + 1 >= attempts });
        } catch (err) {
          if (err instanceof RetryableRunError) throw err;
          // Infrastructure failure (database, Redis): let BullMQ retry.
          this.logger.error({ err, executionId }, 'execution attempt failed');
          throw err;
        } finally {
          await slot.release();
        }
      }
      case JobName.CronTick:
        return this.triggers.cronTick(job);
      case JobName.EventDispatch:
        return this.triggers.eventDispatch(job);
      default:
        this.logger.warn({ name: job.name }, 'unknown job on the executions queue; dropping it');
        return 'unknown-job';
    }
  }
}

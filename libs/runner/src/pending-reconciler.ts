import { Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { KilnConfig } from '@kiln/config';
import { ExecutionRepository } from '@kiln/db';
import type { Logger } from '@kiln/observability';
import { InjectConfig, InjectLogger, InjectRedis } from '@kiln/platform';
import { ClusterLock, ExecutionQueue, scriptVersionRefOf } from '@kiln/queue';
import type { Redis } from 'ioredis';
import { ExecutionRunner } from './execution-runner';

const PAGE = 200;

export interface ReconcileReport {
  checked: number;
  reenqueued: number;
  lost: number;
}

/**
 * The execution row is written before its job is added to the queue, so a
 * gateway that dies in between (or a Redis hiccup on approve) leaves a
 * pending row with no job. One worker at a time walks the pending rows and
 * re-adds any missing job; jobIds are execution ids, so re-adding one that
 * exists is a no-op. Runs accepted together share a batch job under another
 * id: a pending row no older than the oldest waiting job may be in one, so it
 * is left alone until the backlog has passed it by `afterMs`. Should a run get a second
 * job all the same, only one of the two claims it (see ExecutionRunner).
 */
@Injectable()
export class PendingReconciler implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | null = null;
  private cursor: { createdAt: Date; id: string } | null = null;
  private running: Promise<ReconcileReport | null> | null = null;
  private readonly lock: ClusterLock;

  constructor(
    @InjectConfig() private readonly config: KilnConfig,
    @InjectLogger() private readonly logger: Logger,
    @InjectRedis() redis: Redis,
    private readonly executions: ExecutionRepository,
    private readonly queue: ExecutionQueue,
    private readonly runner: ExecutionRunner,
  ) {
    this.lock = new ClusterLock(redis, `${config.redis.prefix}:reconcile:lock`, Math.max(5_000, config.reconcile.intervalMs));
  }

  onApplicationBootstrap(): void {
    const tick = () => {
      this.running = this.pass().catch((err: unknown) => {
        this.logger.warn({ err }, 'reconciling pending executions failed; will retry');
        return null;
      });
      void this.running.finally(() => {
        this.running = null;
        if (this.timer) this.timer = setTimeout(tick, this.config.reconcile.intervalMs).unref();
      });
    };
    this.timer = setTimeout(tick, this.config.reconcile.intervalMs).unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One page of pending rows; the cursor wraps around when it reaches the newest. */
  async pass(): Promise<ReconcileReport | null> {
    if (!(await this.lock.acquire())) return null;
    const report: ReconcileReport = { checked: 0, reenqueued: 0, lost: 0 };
    try {
      const rows = await this.executions.pendingAfter(this.cursor, this.config.reconcile.afterMs, PAGE);
      this.cursor = rows.length === PAGE ? { createdAt: rows[PAGE - 1]!.createdAt, id: rows[PAGE - 1]!.id } : null;
      const backlogSince = rows.length > 0 ? (await this.queue.backlog()).oldestWaitingAt : null;
      for (const row of rows) {
        report.checked++;
        // afterMs of slack: the batch's job is added after its rows (and by another clock).
        if (backlogSince !== null && row.createdAt.getTime() > backlogSince - this.config.reconcile.afterMs) continue;
        const suffix = row.approvalStatus === 'approved' ? 'approved' : undefined;
        const state = await this.queue.queue.getJobState(suffix ? `${row.id}.${suffix}` : row.id);
        if (state === 'failed') {
          // The job gave up but the row never heard of it.
          await this.runner.markLost(row.id, '(its job failed without recording an outcome)');
          report.lost++;
        } else if (state === 'unknown') {
          await this.queue.enqueueRun(row.id, { jobIdSuffix: suffix, tenantId: row.tenantId, script: scriptVersionRefOf(row.scriptId, row.scriptVersion) });
          report.reenqueued++;
        }
      }
    } finally {
      await this.lock.release().catch(() => undefined);
    }
    if (report.reenqueued > 0 || report.lost > 0) this.logger.warn({ ...report }, 'reconciled pending executions whose job was missing');
    return report;
  }
}

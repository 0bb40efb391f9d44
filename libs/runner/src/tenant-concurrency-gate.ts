import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { KilnConfig } from '@kiln/config';
import { TenantRepository, UsageRepository } from '@kiln/db';
import { type Counter, type Logger, Registry, registeredCounter } from '@kiln/observability';
import { InjectConfig, InjectLogger, InjectRedis } from '@kiln/platform';
import { ExecutionQueue, InvalidationBus, type ScriptVersionRef } from '@kiln/queue';
import { DelayedError, Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { TenantSlots } from './tenant-slots';

/** First re-check of a deferred run; each `limit` runs ahead of it add this much again, up to the cap. */
const DEFER_STEP_MS = 1_000;
const DEFER_MAX_MS = 10_000;
/** How long an idle tenant's deferred set is kept (it only ever holds job ids). */
const DEFERRED_TTL_MS = 24 * 3600_000;
const LIMIT_CACHE_TTL_MS = 5_000;
/** Promotions tried per freed slot when the popped jobs are gone (cancelled and removed). */
const MAX_PROMOTE_TRIES = 5;

export interface TenantSlot {
  release(): Promise<void>;
}

const NO_SLOT: TenantSlot = { release: () => Promise.resolve() };

/**
 * Per-tenant concurrency in the worker (SPEC §8, default 5 running
 * executions per tenant; Tenant.concurrencyLimit overrides). Sits before the
 * claim: a run of a full tenant goes back to the queue as a delayed job, no
 * attempt counted, status still `pending`, and this worker takes the next
 * job, usually another tenant's; that is what keeps one tenant's backlog
 * from starving the others. See tenant-slots.ts for the Redis side.
 */
@Injectable()
export class TenantConcurrencyGate implements OnApplicationBootstrap {
  private readonly slots: TenantSlots;
  private readonly leaseMs: number;
  private readonly limits = new Map<string, { limit: number; expiresAt: number }>();
  private readonly deferrals: Counter;

  constructor(
    @InjectConfig() private readonly config: KilnConfig,
    @InjectLogger() private readonly logger: Logger,
    @InjectRedis() redis: Redis,
    private readonly tenants: TenantRepository,
    private readonly usage: UsageRepository,
    private readonly queue: ExecutionQueue,
    private readonly bus: InvalidationBus,
    registry: Registry,
  ) {
    this.slots = new TenantSlots(redis, config.redis.prefix);
    // Outlives a BullMQ job lock: a stalled job is retaken (re-entrantly) before its slot expires.
    this.leaseMs = Math.max(10_000, 2 * config.worker.jobLockMs);
    this.deferrals = registeredCounter(registry, {
      name: 'kiln_tenant_concurrency_deferrals_total',
      help: 'Runs put back in the queue because their tenant was at its concurrency limit',
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    // PATCH /v1/tenants/:id announces limit changes on the invalidation bus.
    this.bus.onInvalidate((message) => {
      if (message.kind === 'tenant') this.limits.delete(message.id);
    });
    await this.bus.listen();
  }

  /**
   * Takes a running slot of the execution's tenant, or puts the job back in
   * the queue and throws DelayedError (BullMQ then moves on without counting
   * an attempt). Call before claiming the execution; release the slot after.
   */
  async enter(job: Job, token: string | undefined, executionId: string, tenantId: string | undefined): Promise<TenantSlot> {
    const tenant = tenantId ?? (await this.usage.tenantOfExecution(executionId));
    if (!tenant) return NO_SLOT; // The row is gone: the claim will find nothing to run.
    const limit = await this.limitOf(tenant);
    const ref = { id: String(job.id), timestamp: job.timestamp };
    const acquired = await this.slots.acquire(tenant, executionId, ref, limit, this.leaseMs);
    if (acquired.taken) return this.hold(tenant, executionId, limit);

    if (!token) throw new Error('a deferred job needs its lock token');
    await job.moveToDelayed(Date.now() + this.deferDelay(acquired.ahead, limit), token);
    await this.deferred(tenant, ref, limit);
    throw new DelayedError();
  }

  /**
   * enter() for a run that arrived in an `execution.batch` job: the batch
   * cannot be put back for one of its runs, so a run of a full tenant gets a
   * delayed `execution.run` job of its own (job id = execution id) and null
   * comes back. `acceptedAt` (the batch job's timestamp) keeps its place in
   * the tenant's line.
   */
  async enterFromBatch(executionId: string, tenantId: string, acceptedAt: number, script?: ScriptVersionRef): Promise<TenantSlot | null> {
    const limit = await this.limitOf(tenantId);
    const ref = { id: executionId, timestamp: acceptedAt };
    const acquired = await this.slots.acquire(tenantId, executionId, ref, limit, this.leaseMs);
    if (acquired.taken) return this.hold(tenantId, executionId, limit);
    await this.queue.enqueueRun(executionId, { tenantId, script, delayMs: this.deferDelay(acquired.ahead, limit) });
    await this.deferred(tenantId, ref, limit);
    return null;
  }

  private deferDelay(ahead: number, limit: number): number {
    return Math.round(Math.min(DEFER_MAX_MS, DEFER_STEP_MS * (1 + Math.floor(ahead / limit))) * (0.8 + Math.random() * 0.4));
  }

  private async deferred(tenantId: string, ref: { id: string; timestamp: number }, limit: number): Promise<void> {
    this.deferrals.inc();
    const promote = await this.slots.defer(tenantId, ref, limit, DEFERRED_TTL_MS);
    if (promote) await this.promote(tenantId, limit, promote);
  }

  private hold(tenantId: string, executionId: string, limit: number): TenantSlot {
    const heartbeat = setInterval(() => {
      this.slots.renew(tenantId, executionId, this.leaseMs).catch((err: unknown) =>
        this.logger.warn({ err, executionId, tenantId }, 'could not renew the tenant concurrency lease'),
      );
    }, Math.floor(this.leaseMs / 3));
    heartbeat.unref();
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        clearInterval(heartbeat);
        try {
          const next = await this.slots.release(tenantId, executionId, limit);
          if (next) await this.promote(tenantId, limit, next);
        } catch (err) {
          // The lease expires by itself: the slot comes back within one lease.
          this.logger.warn({ err, executionId, tenantId }, 'could not release the tenant concurrency slot');
        }
      },
    };
  }

  /** Moves a deferred job to the wait list now; skips jobs that are gone. */
  private async promote(tenantId: string, limit: number, first: string): Promise<void> {
    let jobId: string | null = first;
    for (let i = 0; i < MAX_PROMOTE_TRIES && jobId; i++) {
      const job = await Job.fromId(this.queue.queue, jobId);
      if (job) {
        // Not delayed any more (its timer fired, or another worker promoted it): it is on its way anyway.
        await job.promote().catch(() => undefined);
        return;
      }
      jobId = await this.slots.release(tenantId, null, limit);
    }
  }

  private async limitOf(tenantId: string): Promise<number> {
    const now = Date.now();
    const hit = this.limits.get(tenantId);
    if (hit && hit.expiresAt > now) return hit.limit;
    const tenant = await this.tenants.findById(tenantId);
    const limit = tenant?.concurrencyLimit ?? this.config.limits.tenantConcurrency;
    if (this.limits.size >= 10_000) this.limits.delete(this.limits.keys().next().value as string);
    this.limits.set(tenantId, { limit, expiresAt: now + LIMIT_CACHE_TTL_MS });
    return limit;
  }
}

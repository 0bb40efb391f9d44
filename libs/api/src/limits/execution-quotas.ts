import { Injectable } from '@nestjs/common';
import type { KilnConfig } from '@kiln/config';
import { KilnError } from '@kiln/core';
import { UsageRepository } from '@kiln/db';
import type { Logger } from '@kiln/observability';
import { InjectConfig, InjectLogger, InjectRedis } from '@kiln/platform';
import type { Redis } from 'ioredis';
import { PreAdmittedRun } from './pre-admitted-run';
import { QuotaCounters, type AdmitOutcome, type QuotaCounter } from './quota-counters';
import { dayWindow, hourWindow, monthWindow, secondsUntilEnd, type QuotaWindow } from './quota-windows';
import { TenantLimits } from './tenant-limits';
import type { BucketReply } from './token-bucket';

/** Counters outlive their window a little, so a late refund or read still finds them. */
const SLACK_MS = 3600_000;

export interface QuotaRequest {
  tenantId: string;
  apiKeyId: string | null;
  /** null: unlimited (the run is still counted, for the key's usage). */
  monthlyExecutionLimit: number | null;
}

/** What passing admission counted: refund it if the run is not accepted after all. */
export interface QuotaTicket {
  readonly keys: readonly string[];
  refund(): Promise<void>;
}

export interface KeyUsage {
  month: string;
  executions: number;
  limit: number | null;
}

/**
 * Accepted-run quotas: executions per API key per calendar month (UTC), and
 * per tenant per clock hour and per UTC day when a cap is set. Counters live
 * in Redis (one atomic script per run, see quota-counters.ts) and are
 * rebuilt from PostgreSQL when Redis has lost them.
 */
@Injectable()
export class ExecutionQuotas {
  private readonly counters: QuotaCounters;

  constructor(
    @InjectConfig() private readonly config: KilnConfig,
    @InjectLogger() private readonly logger: Logger,
    @InjectRedis() redis: Redis,
    private readonly usage: UsageRepository,
    private readonly tenantLimits: TenantLimits,
  ) {
    this.counters = new QuotaCounters(redis);
  }

  /**
   * Counts the run, or throws: 403 USAGE_LIMIT_EXCEEDED past the key's
   * monthly limit, 429 RATE_LIMITED past a tenant's hourly or daily cap.
   */
  async admit(request: QuotaRequest, now = new Date()): Promise<QuotaTicket> {
    let counters: QuotaCounter[];
    let outcome: AdmitOutcome;
    try {
      counters = await this.countersFor(request, now);
      outcome = await this.counters.admit(counters);
    } catch (err) {
      throw this.unavailable(err, request);
    }
    if (!outcome.admitted) throw this.refusal(outcome.refusedBy, outcome.current, now);
    return this.ticket(counters);
  }

  /**
   * The rate-limit token of a run request and admit() of its run, in one
   * Redis round trip (see PreAdmittedRun). `run` is null when the bucket
   * refused: nothing was counted. Throws when Redis cannot answer; null when
   * the tenant's caps cannot be read (PostgreSQL): take the token alone then.
   */
  async takeTokenAndAdmit(
    bucket: { key: string; burst: number; refillPerSecond: number },
    request: QuotaRequest,
    now = new Date(),
  ): Promise<{ bucket: BucketReply; run: PreAdmittedRun | null } | null> {
    let counters: QuotaCounter[];
    try {
      counters = await this.countersFor(request, now);
    } catch (err) {
      this.logger.warn({ err, tenantId: request.tenantId }, 'tenant caps unreadable; the run is admitted on its own later');
      return null;
    }
    const { bucket: reply, outcome } = await this.counters.takeAndAdmit({ ...bucket, cost: 1 }, counters);
    if (!outcome) return { bucket: reply, run: null };
    const run = outcome.admitted ? new PreAdmittedRun({ ticket: this.ticket(counters) }) : new PreAdmittedRun({ refusal: this.refusal(outcome.refusedBy, outcome.current, now) });
    return { bucket: reply, run };
  }

  /** This month's accepted runs of a key, as GET /v1/api-keys/:id shows them (null when Redis cannot tell). */
  async keyUsage(apiKeyId: string, limit: number | null, now = new Date()): Promise<KeyUsage | null> {
    const counter = this.keyMonthCounter(apiKeyId, limit, now);
    try {
      return { month: counter.window.label, executions: await this.counters.read(counter), limit };
    } catch (err) {
      this.logger.warn({ err, apiKeyId }, 'could not read key usage');
      return null;
    }
  }

  private async countersFor(request: QuotaRequest, now: Date): Promise<QuotaCounter[]> {
    const tenant = await this.tenantLimits.get(request.tenantId);
    const counters: QuotaCounter[] = [];
    if (request.apiKeyId) counters.push(this.keyMonthCounter(request.apiKeyId, request.monthlyExecutionLimit, now));
    if (tenant.hourlyExecutions !== null) counters.push(this.tenantCounter(request.tenantId, hourWindow(now), tenant.hourlyExecutions));
    if (tenant.dailyExecutions !== null) counters.push(this.tenantCounter(request.tenantId, dayWindow(now), tenant.dailyExecutions));
    return counters;
  }

  private ticket(counters: readonly QuotaCounter[]): QuotaTicket {
    const keys = counters.map((c) => c.key);
    return {
      keys,
      refund: async () => {
        await this.counters.refund(keys).catch((err: unknown) => this.logger.warn({ err, keys }, 'quota refund failed; the run stays counted'));
      },
    };
  }

  private unavailable(err: unknown, request: QuotaRequest): KilnError {
    this.logger.error({ err, tenantId: request.tenantId }, 'quota check failed; run not accepted');
    return new KilnError(503, 'SERVICE_UNAVAILABLE', 'Quotas could not be checked (Redis or PostgreSQL unavailable); nothing was started, retry later');
  }

  private keyMonthCounter(apiKeyId: string, limit: number | null, now: Date): QuotaCounter {
    const window = monthWindow(now);
    return {
      key: `${this.config.redis.prefix}:quota:key:${apiKeyId}:${window.label}`,
      limit,
      window,
      expireAt: window.end.getTime() + SLACK_MS,
      rebuild: () => this.usage.countByApiKey(apiKeyId, window.start, window.end),
    };
  }

  private tenantCounter(tenantId: string, window: QuotaWindow, limit: number): QuotaCounter {
    return {
      key: `${this.config.redis.prefix}:quota:tenant:${tenantId}:${window.kind}:${window.label}`,
      limit,
      window,
      expireAt: window.end.getTime() + SLACK_MS,
      rebuild: () => this.usage.countByTenant(tenantId, window.start, window.end),
    };
  }

  private refusal(counter: QuotaCounter, current: number, now: Date): KilnError {
    const { window } = counter;
    const retryAfter = secondsUntilEnd(window, now);
    if (window.kind === 'month') {
      return new KilnError(403, 'USAGE_LIMIT_EXCEEDED', 'API key usage limit exceeded', {
        limit: counter.limit,
        used: current,
        month: window.label,
        resetsAt: window.end.toISOString(),
      });
    }
    const variable = window.kind === 'hour' ? 'KILN_TENANT_HOURLY_EXECUTIONS' : 'KILN_TENANT_DAILY_EXECUTIONS';
    const field = window.kind === 'hour' ? 'hourlyExecutionLimit' : 'dailyExecutionLimit';
    return new KilnError(
      429,
      'RATE_LIMITED',
      `Tenant ${window.kind === 'hour' ? 'hourly' : 'daily'} execution limit of ${counter.limit} reached (tenant ${field}, default ${variable}); retry after ${retryAfter} s`,
      { limit: counter.limit, used: current, window: window.kind, resetsAt: window.end.toISOString(), retryAfter },
    );
  }
}

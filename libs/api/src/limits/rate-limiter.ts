import { Injectable } from '@nestjs/common';
import type { KilnConfig } from '@kiln/config';
import { type Counter, type Logger, Registry, registeredCounter } from '@kiln/observability';
import { InjectConfig, InjectLogger, InjectRedis } from '@kiln/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import type { AuthContext } from '../auth/auth-context';
import { RateLimitExceeded } from './rate-limit-exceeded';
import { rateLimitProfileFor, registerRateLimitProfile, type RateLimitProfile } from './rate-limit-profiles';
import { ExecutionQuotas } from './execution-quotas';
import type { PreAdmittedRun } from './pre-admitted-run';
import { bucketDecision, TokenBucket, type BucketDecision } from './token-bucket';

/** The agents compatibility surface (SPEC §9.2) and its document's own bucket. */
export const AGENTS_PATH_PREFIX = '/api/v1/public';

/** At most one "Redis is down, not limiting" warning per this many ms. */
const FAIL_OPEN_LOG_INTERVAL_MS = 10_000;

/**
 * Per API key token bucket, applied by the API key guard to every
 * authenticated request: sets X-RateLimit-* on the reply, and throws
 * RateLimitExceeded (429) when the bucket is empty. One Redis round trip
 * (EVALSHA) per request; for a request that starts a run, the same round
 * trip also decides the run's quotas (PreAdmittedRun).
 *
 * When Redis cannot answer, requests pass unlimited (and without headers):
 * refusing every call because the limiter is down would turn a Redis blip
 * into a full outage, and runs need Redis anyway.
 */
@Injectable()
export class RateLimiter {
  private readonly bucket: TokenBucket;
  private readonly nativeProfile: RateLimitProfile;
  private readonly refused: Counter;
  private lastFailOpenLog = 0;

  constructor(
    @InjectConfig() private readonly config: KilnConfig,
    @InjectLogger() private readonly logger: Logger,
    @InjectRedis() redis: Redis,
    registry: Registry,
    private readonly quotas: ExecutionQuotas,
  ) {
    this.bucket = new TokenBucket(redis);
    const { limits } = config;
    this.nativeProfile = { name: 'api', burst: limits.rateLimitBurst, refillPerSecond: limits.rateLimitRefillPerSec, defaultMonthlyExecutionLimit: null };
    registerRateLimitProfile(AGENTS_PATH_PREFIX, {
      name: 'agents',
      burst: limits.agentsRateLimitBurst,
      refillPerSecond: limits.agentsRateLimitRefillPerSec,
      defaultMonthlyExecutionLimit: limits.agentsMonthlyExecutions,
    });
    this.refused = registeredCounter(registry, { name: 'kiln_rate_limited_requests_total', help: 'Requests refused with 429 by the per-key token bucket', labelNames: ['profile'] });
  }

  /** The profile a request URL draws from (native unless a surface registered its prefix). */
  profileFor(url: string): RateLimitProfile {
    return rateLimitProfileFor(url) ?? this.nativeProfile;
  }

  /**
   * Takes one token for this request. Also applies the surface's default
   * monthly limit to a key that has none, so every run started on that
   * surface is admitted against it. With `countRun` (a request that starts a
   * run) the run's quotas are decided in the same Redis round trip and left
   * on the request for RunsService (PreAdmittedRun).
   */
  async apply(request: FastifyRequest, reply: FastifyReply, auth: AuthContext, options: { countRun?: boolean } = {}): Promise<void> {
    const profile = this.profileFor(request.url);
    if (auth.monthlyExecutionLimit === null && profile.defaultMonthlyExecutionLimit !== null) {
      auth.monthlyExecutionLimit = profile.defaultMonthlyExecutionLimit;
    }
    const limits = { burst: auth.rateLimit.burst ?? profile.burst, refillPerSecond: auth.rateLimit.refillPerSecond ?? profile.refillPerSecond };
    const key = `${this.config.redis.prefix}:rl:${profile.name}:${auth.apiKeyId}`;
    let decision: BucketDecision;
    try {
      const counted = options.countRun
        ? await this.quotas.takeTokenAndAdmit({ key, ...limits }, { tenantId: auth.tenantId, apiKeyId: auth.apiKeyId, monthlyExecutionLimit: auth.monthlyExecutionLimit })
        : null;
      decision = counted ? bucketDecision(limits, counted.bucket) : await this.bucket.take(key, limits);
      if (counted?.run) this.leaveOnRequest(request, reply, counted.run);
    } catch (err) {
      this.failOpen(err);
      return;
    }
    void reply.header('X-RateLimit-Limit', String(decision.limit));
    void reply.header('X-RateLimit-Remaining', String(decision.remaining));
    void reply.header('X-RateLimit-Reset', String(decision.resetAt));
    if (!decision.allowed) {
      this.refused.inc({ profile: profile.name });
      void reply.header('Retry-After', String(decision.retryAfterSeconds));
      throw new RateLimitExceeded(decision.retryAfterSeconds);
    }
  }

  /** Whatever happens next (an error, a client that goes away), the run's count is settled once the response is over. */
  private leaveOnRequest(request: FastifyRequest, reply: FastifyReply, run: PreAdmittedRun): void {
    request.kilnPreAdmittedRun = run;
    // Already over (the client left during the round trip): give the count back now; a later take() decides afresh.
    if (reply.raw.closed) void run.settle();
    else reply.raw.once('close', () => void run.settle());
  }

  private failOpen(err: unknown): void {
    const now = Date.now();
    if (now - this.lastFailOpenLog < FAIL_OPEN_LOG_INTERVAL_MS) return;
    this.lastFailOpenLog = now;
    this.logger.warn({ err }, 'rate limiter could not reach Redis; requests pass unlimited until it answers');
  }
}

import { Module } from '@nestjs/common';
import { ExecutionQuotas } from './execution-quotas';
import { RateLimiter } from './rate-limiter';
import { RequestLimits } from './request-limits';
import { TenantLimits } from './tenant-limits';

/** SPEC §8: per-key token buckets, run quotas and caps, request size limits. See docs/limits.md. */
@Module({
  providers: [RateLimiter, ExecutionQuotas, TenantLimits, RequestLimits],
  exports: [RateLimiter, ExecutionQuotas, TenantLimits, RequestLimits],
})
export class LimitsModule {}

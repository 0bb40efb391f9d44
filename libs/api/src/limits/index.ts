// What other surfaces of the gateway use from the limits module (docs/limits.md).
export { ExecutionQuotas, type KeyUsage, type QuotaTicket } from './execution-quotas';
export { LimitsModule } from './limits.module';
export { RateLimitExceeded } from './rate-limit-exceeded';
export { registerRateLimitProfile, rateLimitProfileFor, type RateLimitProfile } from './rate-limit-profiles';
export { AGENTS_PATH_PREFIX, RateLimiter } from './rate-limiter';
export { RequestLimits, sizeProblem, type SizeProblem } from './request-limits';
export { TenantLimits, type EffectiveTenantLimits } from './tenant-limits';

import { hostname } from 'node:os';
import { decodeKey, envSchema, type RawEnv } from './env-schema';

/** The typed, nested configuration every app receives (never process.env). */
export interface KilnConfig {
  env: RawEnv['NODE_ENV'];
  logLevel: RawEnv['LOG_LEVEL'];
  database: { url: string; poolSize: number };
  redis: { url: string; prefix: string };
  security: { encryptionKey: Buffer; adminKey: string | undefined; metricsToken: string | undefined };
  http: { host: string; port: number; publicUrl: string | undefined; bodyLimitBytes: number };
  shutdownGraceMs: number;
  /** executionDays: finished executions older than this are purged (0: kept forever). */
  retention: { executionDays: number };
  /** Finding pending executions whose job never reached the queue. */
  reconcile: { intervalMs: number; afterMs: number };
  runs: {
    waitMaxMs: number;
    /** Backpressure: new runs are held while the oldest waiting job has waited this long (0: never). */
    queueMaxWaitMs: number;
    queueHoldMaxMs: number;
    idempotencyTtlMs: number;
    scriptSourceMaxBytes: number;
    adhocCodeMaxBytes: number;
    outputMaxBytes: number;
    logMaxBytes: number;
    outboundMaxRequests: number;
    outboundAllow: string;
    outboundTimeoutMs: number;
    outboundMaxResponseBytes: number;
    sdkHttpPerMinute: number;
    sdkCacheMaxValueBytes: number;
    eventMaxDepth: number;
  };
  limits: {
    rateLimitBurst: number;
    rateLimitRefillPerSec: number;
    tenantConcurrency: number;
    /** null: no cap (the default). */
    tenantHourlyExecutions: number | null;
    tenantDailyExecutions: number | null;
    agentsRateLimitBurst: number;
    agentsRateLimitRefillPerSec: number;
    agentsMonthlyExecutions: number;
  };
  worker: {
    id: string;
    port: number;
    concurrency: number;
    sandboxProcesses: number;
    sandboxRunsPerProcess: number;
    jobAttempts: number;
    jobLockMs: number;
    stalledIntervalMs: number;
  };
  notifier: {
    port: number;
    concurrency: number;
    retrySchedule: string;
    timeoutMs: number;
    breakerResetMs: number;
    breakerVolumeThreshold: number;
    relayAfterMs: number;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration (environment variables):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses the environment once at start-up. Throws ConfigError naming every
 * bad variable, so an operator fixes them all in one go.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): KilnConfig {
  // Empty strings mean "not set": compose files and k8s often pass FOO="".
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = issue.path.join('.');
        const got = cleaned[name];
        const shown = got === undefined || /KEY|SECRET|PASSWORD|TOKEN/i.test(name) ? '' : ` (got '${got}')`;
        return `${name}: ${issue.message}${shown}`;
      }),
    );
  }
  const e = parsed.data;
  return {
    env: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    database: { url: e.DATABASE_URL, poolSize: e.KILN_DB_POOL_SIZE },
    redis: { url: e.REDIS_URL, prefix: e.KILN_REDIS_PREFIX },
    security: { encryptionKey: decodeKey(e.KILN_ENCRYPTION_KEY) as Buffer, adminKey: e.KILN_ADMIN_KEY, metricsToken: e.KILN_METRICS_TOKEN },
    http: { host: e.HOST, port: e.PORT, publicUrl: e.KILN_PUBLIC_URL, bodyLimitBytes: e.KILN_BODY_LIMIT_BYTES },
    shutdownGraceMs: e.KILN_SHUTDOWN_GRACE_MS,
    retention: { executionDays: e.KILN_EXECUTION_RETENTION_DAYS },
    reconcile: { intervalMs: e.KILN_RECONCILE_INTERVAL_MS, afterMs: e.KILN_RECONCILE_AFTER_MS },
    runs: {
      waitMaxMs: e.KILN_WAIT_MAX_MS,
      queueMaxWaitMs: e.KILN_QUEUE_MAX_WAIT_MS,
      queueHoldMaxMs: e.KILN_QUEUE_HOLD_MAX_MS,
      idempotencyTtlMs: e.KILN_IDEMPOTENCY_TTL_HOURS * 3600_000,
      scriptSourceMaxBytes: e.KILN_SCRIPT_SOURCE_MAX_BYTES,
      adhocCodeMaxBytes: e.KILN_ADHOC_CODE_MAX_BYTES,
      outputMaxBytes: e.KILN_OUTPUT_MAX_BYTES,
      logMaxBytes: e.KILN_LOG_MAX_BYTES,
      outboundMaxRequests: e.KILN_OUTBOUND_MAX_REQUESTS,
      outboundAllow: e.KILN_OUTBOUND_ALLOW,
      outboundTimeoutMs: e.KILN_OUTBOUND_TIMEOUT_MS,
      outboundMaxResponseBytes: e.KILN_OUTBOUND_MAX_RESPONSE_BYTES,
      sdkHttpPerMinute: e.KILN_SDK_HTTP_PER_MINUTE,
      sdkCacheMaxValueBytes: e.KILN_SDK_CACHE_MAX_VALUE_BYTES,
      eventMaxDepth: e.KILN_EVENT_MAX_DEPTH,
    },
    limits: {
      rateLimitBurst: e.KILN_RATE_LIMIT_BURST,
      rateLimitRefillPerSec: e.KILN_RATE_LIMIT_REFILL_PER_SEC,
      tenantConcurrency: e.KILN_TENANT_CONCURRENCY,
      tenantHourlyExecutions: e.KILN_TENANT_HOURLY_EXECUTIONS ?? null,
      tenantDailyExecutions: e.KILN_TENANT_DAILY_EXECUTIONS ?? null,
      agentsRateLimitBurst: e.KILN_AGENTS_RATE_LIMIT_BURST,
      agentsRateLimitRefillPerSec: e.KILN_AGENTS_RATE_LIMIT_REFILL_PER_SEC,
      agentsMonthlyExecutions: e.KILN_AGENTS_MONTHLY_LIMIT,
    },
    worker: {
      id: e.KILN_WORKER_ID ?? `${hostname()}-${process.pid}`,
      port: e.KILN_WORKER_PORT,
      concurrency: e.KILN_WORKER_CONCURRENCY,
      sandboxProcesses: e.KILN_SANDBOX_PROCESSES,
      sandboxRunsPerProcess: e.KILN_SANDBOX_RUNS_PER_PROCESS,
      jobAttempts: e.KILN_JOB_ATTEMPTS,
      jobLockMs: e.KILN_JOB_LOCK_MS,
      stalledIntervalMs: e.KILN_STALLED_INTERVAL_MS,
    },
    notifier: {
      port: e.KILN_NOTIFIER_PORT,
      concurrency: e.KILN_NOTIFIER_CONCURRENCY,
      retrySchedule: e.KILN_WEBHOOK_RETRY_SCHEDULE,
      timeoutMs: e.KILN_WEBHOOK_TIMEOUT_MS,
      breakerResetMs: e.KILN_WEBHOOK_BREAKER_RESET_MS,
      breakerVolumeThreshold: e.KILN_WEBHOOK_BREAKER_VOLUME,
      relayAfterMs: e.KILN_WEBHOOK_RELAY_AFTER_MS,
    },
  };
}

/**
 * For main.ts: load the configuration or print the problems and exit, so a
 * misconfigured process fails at start-up with one readable message.
 */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): KilnConfig {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
}

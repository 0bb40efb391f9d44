import { parseAllowList } from '@kiln/outbound';
import { parseRetrySchedule } from '@kiln/webhooks';
import { z } from 'zod';

// Every variable Kiln reads, with its default. Defaults follow SPEC.md; an
// operator changes them here and nowhere else.

const int = (min: number, max: number) =>
  z.coerce
    .number({ error: `expected an integer between ${min} and ${max}` })
    .int(`expected an integer between ${min} and ${max}`)
    .min(min, `expected an integer between ${min} and ${max}`)
    .max(max, `expected an integer between ${min} and ${max}`);

const positiveNumber = z.coerce.number({ error: 'expected a number' }).positive('expected a positive number');

const url = (protocols: string[]) =>
  z.string().refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    { message: `expected a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}` },
  );

const KIB = 1024;
const MIB = 1024 * 1024;

export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),

  DATABASE_URL: url(['postgresql:', 'postgres:']).default('postgresql://postgres@127.0.0.1:5432/kiln'),
  KILN_DB_POOL_SIZE: int(1, 200).default(10),
  REDIS_URL: url(['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
  KILN_REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected 1-64 characters of letters, digits, _ . -')
    .default('kiln'),

  KILN_ENCRYPTION_KEY: z
    .string({
      error:
        "is required: 32 bytes as 64 hex characters or base64 (generate one: node -e \"console.log(require('crypto').randomBytes(32).toString('hex'))\")",
    })
    .refine((v) => decodeKey(v) !== null, {
      message: 'expected 32 bytes as 64 hex characters or base64',
    }),
  KILN_ADMIN_KEY: z
    .string()
    .regex(/^ak_[0-9a-f]{64}$/, "expected 'ak_' followed by 64 lowercase hex characters")
    .optional(),
  KILN_PUBLIC_URL: url(['http:', 'https:']).optional(),
  KILN_METRICS_TOKEN: z.string().min(16, 'expected at least 16 characters').max(512).optional(),

  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: int(0, 65535).default(3000),
  KILN_WORKER_PORT: int(0, 65535).default(3001),
  KILN_NOTIFIER_PORT: int(0, 65535).default(3002),
  KILN_SHUTDOWN_GRACE_MS: int(0, 600_000).default(25_000),

  KILN_BODY_LIMIT_BYTES: int(1 * KIB, 64 * MIB).default(1 * MIB),
  KILN_WAIT_MAX_MS: int(0, 900_000).default(40_000),
  KILN_QUEUE_MAX_WAIT_MS: int(0, 3_600_000).default(3_000),
  KILN_QUEUE_HOLD_MAX_MS: int(0, 120_000).default(30_000),
  KILN_IDEMPOTENCY_TTL_HOURS: int(1, 24 * 30).default(24),
  // Finished executions older than this many days are purged by a worker in the background; 0 keeps them forever.
  KILN_EXECUTION_RETENTION_DAYS: int(0, 36_500).default(0),
  KILN_RECONCILE_INTERVAL_MS: int(1000, 3_600_000).default(30_000),
  KILN_RECONCILE_AFTER_MS: int(0, 3_600_000).default(10_000),
  KILN_SCRIPT_SOURCE_MAX_BYTES: int(1 * KIB, 16 * MIB).default(256 * KIB),
  KILN_ADHOC_CODE_MAX_BYTES: int(1 * KIB, 16 * MIB).default(10 * KIB),
  KILN_RATE_LIMIT_BURST: int(1, 1_000_000).default(100),
  KILN_RATE_LIMIT_REFILL_PER_SEC: positiveNumber.default(50),
  KILN_TENANT_CONCURRENCY: int(1, 10_000).default(5),
  // Per-tenant caps on accepted runs per clock hour / UTC day; unset = off.
  KILN_TENANT_HOURLY_EXECUTIONS: int(1, 1_000_000_000).optional(),
  KILN_TENANT_DAILY_EXECUTIONS: int(1, 1_000_000_000).optional(),
  // The agents compatibility surface (/api/v1/public) keeps its document's bucket and monthly default.
  KILN_AGENTS_RATE_LIMIT_BURST: int(1, 1_000_000).default(10),
  KILN_AGENTS_RATE_LIMIT_REFILL_PER_SEC: positiveNumber.default(1),
  KILN_AGENTS_MONTHLY_LIMIT: int(0, 1_000_000_000).default(1000),

  KILN_WORKER_ID: z.string().min(1).max(200).optional(),
  KILN_WORKER_CONCURRENCY: int(1, 1000).default(64),
  KILN_SANDBOX_PROCESSES: int(1, 64).default(2),
  KILN_SANDBOX_RUNS_PER_PROCESS: int(1, 256).default(32),
  KILN_JOB_ATTEMPTS: int(1, 20).default(3),
  KILN_JOB_LOCK_MS: int(1000, 600_000).default(15_000),
  KILN_STALLED_INTERVAL_MS: int(500, 600_000).default(15_000),
  KILN_OUTPUT_MAX_BYTES: int(1 * KIB, 64 * MIB).default(1 * MIB),
  KILN_LOG_MAX_BYTES: int(1 * KIB, 64 * MIB).default(1 * MIB),
  KILN_OUTBOUND_MAX_REQUESTS: int(0, 100_000).default(100),
  KILN_OUTBOUND_ALLOW: z
    .string()
    .default('')
    .superRefine((v, ctx) => {
      try {
        parseAllowList(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `expected comma-separated hosts, *.wildcards, IPs or CIDRs: ${(err as Error).message}` });
      }
    }),
  KILN_OUTBOUND_TIMEOUT_MS: int(100, 900_000).default(10_000),
  KILN_OUTBOUND_MAX_RESPONSE_BYTES: int(1 * KIB, 256 * MIB).default(5 * MIB),
  KILN_SDK_HTTP_PER_MINUTE: int(1, 100_000).default(60),
  KILN_SDK_CACHE_MAX_VALUE_BYTES: int(1 * KIB, 64 * MIB).default(1 * MIB),
  KILN_EVENT_MAX_DEPTH: int(0, 100).default(8),

  KILN_NOTIFIER_CONCURRENCY: int(1, 1000).default(50),
  KILN_WEBHOOK_RETRY_SCHEDULE: z
    .string()
    .default('1s,5s,15s')
    .superRefine((v, ctx) => {
      try {
        parseRetrySchedule(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `expected comma-separated durations like 1s,5s,15s: ${(err as Error).message}` });
      }
    }),
  KILN_WEBHOOK_TIMEOUT_MS: int(100, 120_000).default(10_000),
  // Per destination (scheme://host:port): open after this many attempts in 10 s with over half failing; half-open after the reset.
  KILN_WEBHOOK_BREAKER_RESET_MS: int(100, 3_600_000).default(10_000),
  KILN_WEBHOOK_BREAKER_VOLUME: int(1, 10_000).default(5),
  // An outbox row not handed to the queue this long after it was due is enqueued by the notifier's relay.
  KILN_WEBHOOK_RELAY_AFTER_MS: int(200, 3_600_000).default(5_000),

});

export type RawEnv = z.infer<typeof envSchema>;

/** Accepts 64 hex characters or base64 of exactly 32 bytes. */
export function decodeKey(value: string): Buffer | null {
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex');
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) {
    const buf = Buffer.from(value, 'base64');
    if (buf.length === 32) return buf;
  }
  return null;
}

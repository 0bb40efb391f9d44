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

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'expected true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

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

  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: int(0, 65535).default(3000),
  KILN_WORKER_PORT: int(0, 65535).default(3001),
  KILN_NOTIFIER_PORT: int(0, 65535).default(3002),
  KILN_SHUTDOWN_GRACE_MS: int(0, 600_000).default(25_000),

  KILN_BODY_LIMIT_BYTES: int(1 * KIB, 64 * MIB).default(1 * MIB),
  KILN_WAIT_MAX_MS: int(0, 900_000).default(40_000),
  KILN_IDEMPOTENCY_TTL_HOURS: int(1, 24 * 30).default(24),
  KILN_SCRIPT_SOURCE_MAX_BYTES: int(1 * KIB, 16 * MIB).default(256 * KIB),
  KILN_ADHOC_CODE_MAX_BYTES: int(1 * KIB, 16 * MIB).default(10 * KIB),
  KILN_RATE_LIMIT_BURST: int(1, 1_000_000).default(100),
  KILN_RATE_LIMIT_REFILL_PER_SEC: positiveNumber.default(50),
  KILN_TENANT_CONCURRENCY: int(1, 10_000).default(5),

  KILN_WORKER_ID: z.string().min(1).max(200).optional(),
  KILN_WORKER_CONCURRENCY: int(1, 1000).default(16),
  KILN_SANDBOX_PROCESSES: int(1, 64).default(2),
  KILN_SANDBOX_RUNS_PER_PROCESS: int(1, 256).default(8),
  KILN_JOB_ATTEMPTS: int(1, 20).default(3),
  KILN_JOB_LOCK_MS: int(1000, 600_000).default(15_000),
  KILN_STALLED_INTERVAL_MS: int(500, 600_000).default(15_000),
  KILN_OUTPUT_MAX_BYTES: int(1 * KIB, 64 * MIB).default(1 * MIB),
  KILN_LOG_MAX_BYTES: int(1 * KIB, 64 * MIB).default(1 * MIB),
  KILN_OUTBOUND_MAX_REQUESTS: int(0, 100_000).default(100),
  KILN_OUTBOUND_ALLOW: z.string().default(''),

  KILN_NOTIFIER_CONCURRENCY: int(1, 1000).default(50),
  KILN_WEBHOOK_RETRY_SCHEDULE: z.string().default('1s,5s,15s'),
  KILN_WEBHOOK_TIMEOUT_MS: int(100, 120_000).default(10_000),

  KILN_METRICS_ENABLED: bool.default(true),
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

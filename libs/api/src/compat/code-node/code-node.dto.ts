import { z } from 'zod';

/** Document 004: `timeout_ms` 1000–30000, default 5000. */
export const TIMEOUT_MIN_MS = 1000;
export const TIMEOUT_MAX_MS = 30_000;
export const TIMEOUT_DEFAULT_MS = 5000;
/** "Memory: 128 MB per execution". */
export const CODE_MEMORY_MB = 128;

const timeoutRange = `timeout_ms must be between ${TIMEOUT_MIN_MS} and ${TIMEOUT_MAX_MS}`;

// A missing `code` is "Code cannot be empty" (the validator says so), not a schema error.
const code = z.string({ error: 'code must be a string' }).optional();

export const validateCodeBody = z.object({ code });
export type ValidateCodeBody = z.infer<typeof validateCodeBody>;

export const executeCodeBody = z.object({
  code,
  timeout_ms: z
    .number({ error: 'timeout_ms must be a number' })
    .int('timeout_ms must be an integer')
    .min(TIMEOUT_MIN_MS, timeoutRange)
    .max(TIMEOUT_MAX_MS, timeoutRange)
    .default(TIMEOUT_DEFAULT_MS),
  /** Kiln extension: the run's `input` (templates such as fetch_data read it). */
  input: z.unknown().optional(),
});
export type ExecuteCodeBody = z.infer<typeof executeCodeBody>;

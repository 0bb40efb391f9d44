/** SPEC §6: retries 1 s, 5 s and 15 s after the first attempt. */
export const DEFAULT_RETRY_SCHEDULE = '1s,5s,15s';

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const DURATION = /^(\d+)(ms|s|m|h)$/;

/** A schedule that cannot be read; the message names the setting and the bad token. */
export class RetryScheduleError extends Error {
  override readonly name = 'RetryScheduleError';
}

/**
 * '1s,5s,15s' → [1000, 5000, 15000]. Units are required (a bare '5' could mean
 * seconds or milliseconds). An empty string is a valid schedule: no retries.
 */
export function parseRetrySchedule(text: string, settingName = 'KILN_WEBHOOK_RETRY_SCHEDULE'): number[] {
  if (text.trim() === '') return [];
  return text.split(',').map((raw) => {
    const token = raw.trim();
    const match = DURATION.exec(token);
    const factor = UNIT_MS[match?.[2] ?? ''];
    if (match?.[1] === undefined || factor === undefined) {
      throw new RetryScheduleError(`${settingName}: '${token}' is not a duration like 5s`);
    }
    const ms = Number(match[1]) * factor;
    if (!Number.isSafeInteger(ms)) throw new RetryScheduleError(`${settingName}: '${token}' is too long`);
    return ms;
  });
}

import { CronExpressionParser } from 'cron-parser';

export type CronCheck = { ok: true; next: Date } | { ok: false; message: string };

/**
 * 5 fields (minute first) or 6 (seconds first), optional IANA timezone —
 * the syntax BullMQ's job schedulers accept, since they use the same parser.
 */
export function checkCron(expression: string, timezone?: string): CronCheck {
  const fields = expression.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) {
    return { ok: false, message: `cron must have 5 fields (or 6 with seconds first), got ${fields}` };
  }
  if (timezone !== undefined && !isTimezone(timezone)) {
    return { ok: false, message: `unknown timezone '${timezone}' (use an IANA name such as Europe/Paris)` };
  }
  try {
    const parsed = CronExpressionParser.parse(expression, timezone ? { tz: timezone } : {});
    return { ok: true, next: parsed.next().toDate() };
  } catch (err) {
    return { ok: false, message: `invalid cron expression: ${(err as Error).message}` };
  }
}

function isTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** A fixed counting window in UTC: calendar month, day or clock hour. */
export interface QuotaWindow {
  kind: 'month' | 'day' | 'hour';
  /** '2026-11', '2026-11-03' or '2026-11-03T14'. */
  label: string;
  start: Date;
  /** Exclusive. */
  end: Date;
}

const pad = (n: number) => String(n).padStart(2, '0');

export function monthWindow(now: Date): QuotaWindow {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  return { kind: 'month', label: `${y}-${pad(m + 1)}`, start: new Date(Date.UTC(y, m, 1)), end: new Date(Date.UTC(y, m + 1, 1)) };
}

export function dayWindow(now: Date): QuotaWindow {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  const d = now.getUTCDate();
  return { kind: 'day', label: `${y}-${pad(m + 1)}-${pad(d)}`, start: new Date(Date.UTC(y, m, d)), end: new Date(Date.UTC(y, m, d + 1)) };
}

export function hourWindow(now: Date): QuotaWindow {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  const d = now.getUTCDate();
  const h = now.getUTCHours();
  return {
    kind: 'hour',
    label: `${y}-${pad(m + 1)}-${pad(d)}T${pad(h)}`,
    start: new Date(Date.UTC(y, m, d, h)),
    end: new Date(Date.UTC(y, m, d, h + 1)),
  };
}

/** Whole seconds until the window ends (≥ 1): the Retry-After of a cap. */
export function secondsUntilEnd(window: QuotaWindow, now: Date): number {
  return Math.max(1, Math.ceil((window.end.getTime() - now.getTime()) / 1000));
}

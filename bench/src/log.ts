// Progress lines: a benchmark that runs for minutes says what it is doing.
const started = Date.now();

export function elapsedSeconds(): number {
  return (Date.now() - started) / 1000;
}

export function say(message: string): void {
  process.stdout.write(`bench [${elapsedSeconds().toFixed(1).padStart(5)}s] ${message}\n`);
}

export function warn(message: string): void {
  process.stdout.write(`bench [${elapsedSeconds().toFixed(1).padStart(5)}s] WARNING: ${message}\n`);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Polls `check` until it returns true or `timeoutMs` passes; never hangs. */
export async function until(check: () => Promise<boolean>, timeoutMs: number, intervalMs = 250): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}

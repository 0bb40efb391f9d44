import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';

/**
 * Wall-clock timestamps of the steps of a run, written by every process it
 * crosses, so that `npm run bench -- --trace` can say where a wait-mode
 * run's milliseconds go (bench/src/step-trace-report.ts). Off unless
 * KILN_TRACE_DIR is set when the process starts: then each process appends
 * `<ms since epoch, µs precision> <step> <executionId or ->` lines to
 * `<dir>/<pid>.trace`, buffered and flushed every 250 ms and on exit.
 */
const dir = process.env.KILN_TRACE_DIR;
const buffer: string[] | null = dir ? [] : null;

if (dir && buffer) {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${process.pid}.trace`);
  const flush = (): void => {
    if (buffer.length > 0) appendFileSync(file, buffer.splice(0).join(''));
  };
  setInterval(flush, 250).unref();
  process.on('exit', flush);
}

export function traceStep(step: string, executionId?: string): void {
  buffer?.push(`${(performance.timeOrigin + performance.now()).toFixed(3)} ${step} ${executionId ?? '-'}\n`);
}

export const stepTraceEnabled = buffer !== null;

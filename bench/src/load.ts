import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { Histogram, type LatencySummary } from './histogram';
import { round, say } from './log';

export interface LoadRequest {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface LoadOptions {
  label: string;
  /** Origin of the server under test, e.g. http://127.0.0.1:3000. */
  url: string;
  /** Closed loop: this many connections, each with one request in flight. */
  connections: number;
  /** Time-boxed run: the measured window's length. */
  durationMs?: number;
  /** Count-boxed run: this many measured requests (after the warm-up). */
  requests?: number;
  /** Load that is applied but not measured, first. */
  warmupMs?: number;
  warmupRequests?: number;
  request: (sequence: number) => LoadRequest;
  /** Checks one response; returns a short error label, or null when it is good. */
  check?: (status: number, body: string) => string | null;
  progressEveryMs?: number;
}

export interface LoadResult {
  label: string;
  connections: number;
  requests: number;
  durationSec: number;
  rps: number;
  latency: LatencySummary;
  statuses: Record<string, number>;
  errors: number;
  errorSamples: string[];
  /** Wall-clock bounds of the measured window (epoch ms), to line up with database timestamps. */
  windowStart: number;
  windowEnd: number;
}

/**
 * The load generator used identically for the floor and for Kiln: a keep-alive
 * undici Pool, `connections` loops each with one request in flight (closed
 * loop), latencies into a log-linear histogram. A time-boxed run counts the
 * requests that started and finished inside the window; a count-boxed run
 * measures exactly `requests` requests after the warm-up.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const pool = new Pool(options.url, {
    connections: options.connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    keepAliveMaxTimeout: 600_000,
    headersTimeout: 60_000,
    bodyTimeout: 60_000,
  });
  const histogram = new Histogram();
  const statuses: Record<string, number> = {};
  const errorSamples: string[] = [];
  let errors = 0;
  let sequence = 0;
  let measured = 0;
  let issuedMeasured = 0;
  let stopped = false;

  const timeBoxed = options.durationMs !== undefined;
  const warmupRequests = options.warmupRequests ?? 0;
  const runStart = performance.now();
  // Time-boxed: the window opens after the warm-up time. Count-boxed: it opens
  // when the first measured request starts.
  let windowStartPerf = timeBoxed ? runStart + (options.warmupMs ?? 0) : Infinity;
  let windowEndPerf = timeBoxed ? windowStartPerf + (options.durationMs as number) : Infinity;
  let lastEndPerf = 0;

  const noteError = (label: string) => {
    errors += 1;
    if (errorSamples.length < 5 && !errorSamples.includes(label)) errorSamples.push(label);
  };

  const loop = async (): Promise<void> => {
    while (!stopped) {
      const n = sequence++;
      let inCount = false;
      if (!timeBoxed) {
        if (n >= warmupRequests) {
          if (issuedMeasured >= (options.requests ?? 0)) return;
          issuedMeasured += 1;
          inCount = true;
        }
      }
      const req = options.request(n);
      const t0 = performance.now();
      if (timeBoxed && t0 >= windowEndPerf) return;
      if (inCount && windowStartPerf === Infinity) windowStartPerf = t0;
      let status = 0;
      let text = '';
      let failure: string | null = null;
      try {
        const res = await pool.request({
          method: req.method,
          path: req.path,
          headers: { ...(req.body !== undefined ? { 'content-type': 'application/json' } : {}), ...req.headers },
          body: req.body,
        });
        status = res.statusCode;
        text = await res.body.text();
        failure = options.check ? options.check(status, text) : status >= 400 ? `HTTP ${status}` : null;
      } catch (err) {
        failure = `network: ${(err as Error).message}`;
      }
      const t1 = performance.now();
      const counts = timeBoxed ? t0 >= windowStartPerf && t1 <= windowEndPerf : inCount;
      if (!counts) continue;
      measured += 1;
      histogram.record(t1 - t0);
      statuses[status || 'error'] = (statuses[status || 'error'] ?? 0) + 1;
      if (failure) noteError(failure.slice(0, 200));
      if (t1 > lastEndPerf) lastEndPerf = t1;
    }
  };

  const every = options.progressEveryMs ?? 5000;
  let lastCount = 0;
  let lastAt = performance.now();
  const progress = setInterval(() => {
    const now = performance.now();
    const rate = ((measured - lastCount) * 1000) / (now - lastAt);
    lastCount = measured;
    lastAt = now;
    const phase = now < windowStartPerf ? 'warming up' : `${measured} measured`;
    say(`  ${options.label}: ${((now - runStart) / 1000).toFixed(0)} s, ${phase}, ${Math.round(rate)}/s`);
  }, every);
  progress.unref();

  const epochOffset = Date.now() - performance.now();
  try {
    await Promise.all(Array.from({ length: options.connections }, () => loop()));
  } finally {
    stopped = true;
    clearInterval(progress);
    await pool.close().catch(() => undefined);
  }
  if (!timeBoxed) windowEndPerf = lastEndPerf;
  const durationSec = Math.max(1e-9, (windowEndPerf - windowStartPerf) / 1000);
  return {
    label: options.label,
    connections: options.connections,
    requests: measured,
    durationSec: round(durationSec, 3),
    rps: round(measured / durationSec, 1),
    latency: histogram.summary(),
    statuses,
    errors,
    errorSamples,
    windowStart: Math.round(epochOffset + windowStartPerf),
    windowEnd: Math.round(epochOffset + windowEndPerf),
  };
}

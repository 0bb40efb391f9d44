/**
 * Execution steps: one record per host call a run made (fetch, sdk.http,
 * sdk.cache, events.publish), in call order. The worker records them next to
 * the outcome; `GET /v1/executions/:id/steps` lists them, and the scenarios
 * compatibility surface builds its per-module `details` and `stats` from them.
 *
 * What a step keeps is deliberately small and free of secrets: for HTTP the
 * method and the URL without its query string or credentials (query strings
 * and userinfo often carry tokens), never headers or bodies, only their sizes.
 */
export interface ExecutionStep {
  /** Host operation: `fetch`, `http.request`, `cache.get`, `events.publish`, … */
  op: string;
  /** `GET https://host/path` for HTTP, the key for the cache, the type for events. */
  target: string | null;
  status: 'ok' | 'error';
  /** ISO 8601 */
  startedAt: string;
  durationMs: number;
  /** UTF-8 bytes of the call's JSON arguments (what the script sent). */
  requestBytes: number;
  /** UTF-8 bytes of the JSON answer (0 when the call failed). */
  responseBytes: number;
  /** HTTP status of an outbound request. */
  httpStatus?: number;
  /** The message the script saw when the call failed. */
  error?: string;
}

/** Steps kept per run segment (the main run and an approval continuation each). */
export const MAX_RECORDED_STEPS = 500;

const HTTP_OPS: ReadonlySet<string> = new Set(['fetch', 'http.request']);

/** UTF-8 bytes of a value's JSON; 0 for no value (undefined or null) or one without a JSON form. */
export function jsonByteLength(value: unknown): number {
  if (value === undefined || value === null) return 0;
  try {
    const json = JSON.stringify(value);
    return json === undefined ? 0 : Buffer.byteLength(json, 'utf8');
  } catch {
    return 0;
  }
}

/** The URL without query, fragment or userinfo; unparsable input is cut at the first `?`. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    return `${url.origin}${url.pathname}`;
  } catch {
    return (raw.split(/[?#]/)[0] ?? '').slice(0, 500);
  }
}

function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
}

function targetOf(op: string, args: readonly unknown[]): string | null {
  if (op === 'fetch') {
    const method = typeof asRecord(args[1]).method === 'string' ? String(asRecord(args[1]).method).toUpperCase() : 'GET';
    return `${method} ${redactUrl(typeof args[0] === 'string' ? args[0] : '')}`;
  }
  if (op === 'http.request') {
    const request = asRecord(args[0]);
    const method = typeof request.method === 'string' ? request.method.toUpperCase() : 'GET';
    return `${method} ${redactUrl(typeof request.url === 'string' ? request.url : '')}`;
  }
  if ((op.startsWith('cache.') || op === 'events.publish') && typeof args[0] === 'string') return args[0].slice(0, 500);
  return null;
}

/** Builds the record of one finished host call. */
export function hostCallStep(
  op: string,
  args: readonly unknown[],
  outcome: { ok: true; value: unknown } | { ok: false; error: string },
  startedAt: Date,
  durationMs: number,
): ExecutionStep {
  const step: ExecutionStep = {
    op,
    target: targetOf(op, args),
    status: outcome.ok ? 'ok' : 'error',
    startedAt: startedAt.toISOString(),
    durationMs: Math.max(0, Math.round(durationMs)),
    requestBytes: jsonByteLength(args),
    responseBytes: outcome.ok ? jsonByteLength(outcome.value) : 0,
  };
  if (outcome.ok && HTTP_OPS.has(op) && typeof asRecord(outcome.value).status === 'number') {
    step.httpStatus = asRecord(outcome.value).status as number;
  }
  if (!outcome.ok) step.error = outcome.error.slice(0, 1000);
  return step;
}

/** Steps as stored (a JSON array), tolerating rows written before steps existed. */
export function storedSteps(value: unknown): ExecutionStep[] {
  return Array.isArray(value) ? (value as ExecutionStep[]) : [];
}

/**
 * "Completed with warnings": the run ended `completed`, but it logged at
 * warn/error level or one of its host calls failed (and the script carried
 * on). The `hasWarnings` filter of GET /v1/executions uses the same rule.
 */
export function hasWarnings(execution: { status: string; logs: unknown; steps: unknown }): boolean {
  if (execution.status !== 'completed') return false;
  const logs = Array.isArray(execution.logs) ? (execution.logs as { level?: unknown }[]) : [];
  if (logs.some((entry) => entry !== null && typeof entry === 'object' && (entry.level === 'warn' || entry.level === 'error'))) return true;
  return storedSteps(execution.steps).some((step) => step.status === 'error');
}

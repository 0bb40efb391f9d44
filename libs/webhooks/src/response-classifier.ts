/** What one attempt produced: a status code when a response arrived, else the error thrown. */
export interface DeliveryAttemptResult {
  statusCode?: number;
  /** Whatever the HTTP client threw (timeout, connection refused, DNS, SSRF guard...). */
  error?: unknown;
}

export type DeliveryClassification =
  | { outcome: 'success' }
  | { outcome: 'retry'; reason: string }
  | { outcome: 'disable'; reason: string };

const TIMEOUT_CODES: ReadonlySet<string> = new Set([
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);
const TIMEOUT_NAMES: ReadonlySet<string> = new Set(['TimeoutError', 'AbortError']);
// Reasons end up in webhook_deliveries.last_error; keep them short.
const MAX_REASON_LENGTH = 300;
const MAX_CAUSE_DEPTH = 5;

/**
 * 2xx is success. 410 Gone means the subscriber asked us to stop: disable the
 * subscription. Everything else retries, including 3xx (redirects are not
 * followed, a moved endpoint must be re-registered) and 4xx: SPEC §6 does not
 * give up early on client errors. A status code wins over an error, because
 * once a response arrived its status is what the subscriber meant.
 */
export function classifyResponse(result: DeliveryAttemptResult): DeliveryClassification {
  const { statusCode } = result;
  if (statusCode !== undefined) {
    if (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) {
      return { outcome: 'retry', reason: `invalid HTTP status ${String(statusCode)}` };
    }
    if (statusCode >= 200 && statusCode < 300) return { outcome: 'success' };
    if (statusCode === 410) return { outcome: 'disable', reason: 'HTTP 410 Gone' };
    if (statusCode >= 300 && statusCode < 400) {
      return { outcome: 'retry', reason: `HTTP ${statusCode} (redirects are not followed)` };
    }
    return { outcome: 'retry', reason: `HTTP ${statusCode}` };
  }
  if (result.error !== undefined) return { outcome: 'retry', reason: describeError(result.error) };
  return { outcome: 'retry', reason: 'no response' };
}

function describeError(error: unknown): string {
  if (typeof error === 'string') return clip(error);
  // fetch (undici) wraps the interesting part: TypeError('fetch failed', {cause: {code}}).
  let code: string | undefined;
  let current: unknown = error;
  for (let depth = 0; depth < MAX_CAUSE_DEPTH && typeof current === 'object' && current !== null; depth++) {
    const { name, code: ownCode } = current as { name?: unknown; code?: unknown };
    if (typeof name === 'string' && TIMEOUT_NAMES.has(name)) return 'timeout';
    if (typeof ownCode === 'string') {
      if (TIMEOUT_CODES.has(ownCode)) return 'timeout';
      code ??= ownCode;
    }
    current = (current as { cause?: unknown }).cause;
  }
  if (code !== undefined) return clip(`connection error: ${code}`);
  const message = error instanceof Error ? error.message : String(error);
  return clip(`network error: ${message}`);
}

function clip(text: string): string {
  return text.length > MAX_REASON_LENGTH ? `${text.slice(0, MAX_REASON_LENGTH - 1)}…` : text;
}

import type { ExecutionView } from '@kiln/core';

/** What the gateway sends back for one endpoint call. */
export interface EndpointReply {
  status: number;
  headers: Record<string, string | string[]>;
  /** Already serialised; null sends no body. */
  body: string | null;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const TEXT_TYPE = 'text/plain; charset=utf-8';

// `{status?, headers?, body}` (and Lambda's `statusCode`) is a response the
// script shapes itself; anything else is a JSON value answered with 200.
const RESPONSE_KEYS: ReadonlySet<string> = new Set(['status', 'statusCode', 'headers', 'body']);

// Connection-level headers belong to the gateway's own connection with the
// client; a script copying an upstream response's headers must not break it.
// content-length is recomputed from the body.
const DROPPED_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'content-length',
]);

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Visible ASCII, space, tab and obs-text; never CR, LF or NUL (header injection).
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

export const EXECUTION_ID_HEADER = 'x-kiln-execution-id';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function isShapedResponse(output: unknown): output is { status?: unknown; statusCode?: unknown; headers?: unknown; body?: unknown } {
  if (!isPlainObject(output)) return false;
  const keys = Object.keys(output);
  if (keys.length === 0 || !keys.every((key) => RESPONSE_KEYS.has(key))) return false;
  return 'body' in output || typeof output.status === 'number' || typeof output.statusCode === 'number';
}

function problem(status: number, code: string, message: string, executionId: string, extra: Record<string, unknown> = {}): EndpointReply {
  return {
    status,
    headers: { 'content-type': JSON_TYPE, [EXECUTION_ID_HEADER]: executionId },
    body: JSON.stringify({ error: { code, message, statusCode: status, details: { executionId, ...extra } } }),
  };
}

class InvalidResponse extends Error {}

function headerValues(name: string, value: unknown): string[] {
  const list = Array.isArray(value) ? value : [value];
  return list.map((item) => {
    if (typeof item !== 'string' && typeof item !== 'number' && typeof item !== 'boolean') {
      throw new InvalidResponse(`header '${name}' must be a string (or a list of strings)`);
    }
    const text = String(item);
    if (!HEADER_VALUE.test(text)) throw new InvalidResponse(`header '${name}' contains a control character`);
    return text;
  });
}

function shapedHeaders(raw: unknown): Record<string, string | string[]> {
  if (raw === undefined || raw === null) return {};
  if (!isPlainObject(raw)) throw new InvalidResponse('headers must be an object of name → value');
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (!TOKEN.test(name)) throw new InvalidResponse(`'${name}' is not a valid header name`);
    const lower = name.toLowerCase();
    if (DROPPED_HEADERS.has(lower) || lower === EXECUTION_ID_HEADER || value === undefined || value === null) continue;
    const values = headerValues(name, value);
    headers[lower] = values.length === 1 ? (values[0] as string) : values;
  }
  return headers;
}

function hasHeader(headers: Record<string, unknown>, name: string): boolean {
  return Object.prototype.hasOwnProperty.call(headers, name);
}

function shaped(output: { status?: unknown; statusCode?: unknown; headers?: unknown; body?: unknown }, executionId: string): EndpointReply {
  const rawStatus = output.status ?? output.statusCode ?? 200;
  if (typeof rawStatus !== 'number' || !Number.isInteger(rawStatus) || rawStatus < 100 || rawStatus > 599) {
    throw new InvalidResponse(`status must be an integer from 100 to 599, got ${JSON.stringify(rawStatus)}`);
  }
  const headers = shapedHeaders(output.headers);
  headers[EXECUTION_ID_HEADER] = executionId;
  const noBody = rawStatus === 204 || rawStatus === 304 || rawStatus < 200;
  if (noBody || output.body === undefined || output.body === null) return { status: rawStatus, headers, body: null };
  if (typeof output.body === 'string') {
    if (!hasHeader(headers, 'content-type')) headers['content-type'] = TEXT_TYPE;
    return { status: rawStatus, headers, body: output.body };
  }
  if (!hasHeader(headers, 'content-type')) headers['content-type'] = JSON_TYPE;
  return { status: rawStatus, headers, body: JSON.stringify(output.body) };
}

/**
 * The HTTP answer for an endpoint run, from the execution as it stands when
 * the wait ended (null: it did not end in time).
 */
export function toEndpointReply(executionId: string, finished: ExecutionView | null, waitedMs: number): EndpointReply {
  if (!finished) {
    return problem(504, 'ENDPOINT_TIMEOUT', `The script did not answer within ${waitedMs} ms; the execution goes on`, executionId);
  }
  switch (finished.status) {
    case 'completed': {
      const output = finished.output;
      if (!isShapedResponse(output)) {
        return { status: 200, headers: { 'content-type': JSON_TYPE, [EXECUTION_ID_HEADER]: executionId }, body: JSON.stringify(output ?? null) };
      }
      try {
        return shaped(output, executionId);
      } catch (err) {
        if (err instanceof InvalidResponse) return problem(502, 'INVALID_RESPONSE', `The script's response is invalid: ${err.message}`, executionId);
        throw err;
      }
    }
    case 'failed': {
      const error = finished.error;
      if (error?.code === 'TIMEOUT') return problem(504, 'TIMEOUT', error.message, executionId);
      // The message is the script's own; the stack stays in the execution (API only).
      return problem(502, error?.code ?? 'EXECUTION_ERROR', error?.message ?? 'The script failed', executionId);
    }
    case 'cancelled':
      return problem(502, 'CANCELLED', 'The execution was cancelled', executionId);
    case 'pending_approval':
      return {
        status: 202,
        headers: { 'content-type': JSON_TYPE, [EXECUTION_ID_HEADER]: executionId },
        body: JSON.stringify({ executionId, status: 'pending_approval' }),
      };
    case 'pending':
    case 'running':
      return problem(504, 'ENDPOINT_TIMEOUT', `The script did not answer within ${waitedMs} ms; the execution goes on`, executionId);
  }
}

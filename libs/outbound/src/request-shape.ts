import { OutboundError } from './outbound-error';

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Normalised to upper case like fetch() does; other methods keep their case.
const NORMALISED_METHODS: ReadonlySet<string> = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT']);
// CONNECT would open a tunnel past the guard; TRACE/TRACK reflect headers.
const FORBIDDEN_METHODS: ReadonlySet<string> = new Set(['CONNECT', 'TRACE', 'TRACK']);

export function normaliseMethod(method: string): string {
  if (!TOKEN.test(method)) throw new OutboundError('INVALID_REQUEST', `Invalid HTTP method '${method}'`);
  const upper = method.toUpperCase();
  if (FORBIDDEN_METHODS.has(upper)) throw new OutboundError('INVALID_REQUEST', `HTTP method ${upper} is not allowed`);
  return NORMALISED_METHODS.has(upper) ? upper : method;
}

// The client owns framing, connection management and the target host; a
// caller setting these could smuggle a second request or confuse the origin
// (the Fetch standard forbids the same names).
const CONTROLLED_HEADERS: ReadonlySet<string> = new Set([
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'content-length',
]);

/** Lower-cases names and silently drops the headers the client controls. */
export function normaliseHeaders(headers: Readonly<Record<string, string>> | undefined, userAgent: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const lower = name.toLowerCase();
    if (!CONTROLLED_HEADERS.has(lower)) result[lower] = value;
  }
  result['user-agent'] ??= userAgent;
  return result;
}

export function assertBodyAllowed(method: string, body: unknown): void {
  if (body !== undefined && (method === 'GET' || method === 'HEAD')) {
    throw new OutboundError('INVALID_REQUEST', `A ${method} request cannot have a body`);
  }
}

/** Flattens undici's response headers; repeated fields are joined with ", " as fetch's Headers.get() does. */
export function flattenHeaders(headers: Readonly<Record<string, string | string[] | undefined>>): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

import type { FastifyRequest } from 'fastify';

/** `context.trigger.httpRequest` as the script sees it (SPEC §7). */
export interface EndpointHttpRequest {
  method: string;
  /** The endpoint path with a leading slash, e.g. `/orders/new`. */
  path: string;
  headers: Record<string, string>;
  query: Record<string, string | string[]>;
  /** JSON bodies parsed; any other content type as text; null without a body. */
  body: unknown;
}

// Credentials of the caller never reach script code (nor the stored trigger).
const WITHHELD_HEADERS: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization', 'cookie', 'x-api-key']);
const WITHHELD_QUERY: ReadonlySet<string> = new Set(['apiKey']);

export function toEndpointHttpRequest(request: FastifyRequest, path: string): EndpointHttpRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || WITHHELD_HEADERS.has(name)) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const query: Record<string, string | string[]> = {};
  const rawQuery = request.query;
  if (rawQuery !== null && typeof rawQuery === 'object') {
    for (const [name, value] of Object.entries(rawQuery as Record<string, unknown>)) {
      if (WITHHELD_QUERY.has(name)) continue;
      if (typeof value === 'string') query[name] = value;
      else if (Array.isArray(value)) query[name] = value.map(String);
    }
  }
  return { method: request.method, path: `/${path}`, headers, query, body: request.body === undefined ? null : request.body };
}

const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

export function isRedirectStatus(status: number): boolean {
  return REDIRECT_STATUSES.has(status);
}

export interface HopRequest {
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | Uint8Array | undefined;
}

// Headers that describe a request body; they go when the body goes.
const BODY_HEADERS = ['content-type', 'content-encoding', 'content-language', 'content-location', 'content-length'];
// Credentials meant for one origin must not follow a redirect to another
// (the Fetch standard drops Authorization the same way).
const ORIGIN_BOUND_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];

function without(headers: Readonly<Record<string, string>>, names: readonly string[]): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (!names.includes(name)) kept[name] = value;
  return kept;
}

/**
 * The request for the next hop, following the Fetch standard: 303 becomes GET
 * (HEAD stays HEAD), 301/302 turn POST into GET, 307/308 replay method and
 * body. Header names are expected in lower case.
 */
export function nextHopRequest(status: number, previous: HopRequest, from: URL, to: URL): HopRequest {
  const dropsBody =
    (status === 303 && previous.method !== 'GET' && previous.method !== 'HEAD') ||
    ((status === 301 || status === 302) && previous.method === 'POST');
  let headers = dropsBody ? without(previous.headers, BODY_HEADERS) : { ...previous.headers };
  if (from.origin !== to.origin) headers = without(headers, ORIGIN_BOUND_HEADERS);
  return {
    method: dropsBody ? 'GET' : previous.method,
    headers,
    body: dropsBody ? undefined : previous.body,
  };
}

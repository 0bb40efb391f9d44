import { request as httpRequest } from 'node:http';

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** A thin fetch wrapper for tests: JSON in, JSON (or text) out, never throws on status. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly key?: string,
  ) {}

  withKey(key: string): ApiClient {
    return new ApiClient(this.baseUrl, key);
  }

  async request<T = any>(
    method: string,
    path: string,
    options: { body?: unknown; rawBody?: string | Buffer; headers?: Record<string, string>; key?: string | null } = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    const key = options.key === null ? undefined : (options.key ?? this.key);
    if (key) headers.authorization = `Bearer ${key}`;
    let body: string | Buffer | undefined;
    if (options.rawBody !== undefined) {
      body = options.rawBody;
    } else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${this.baseUrl}${path}`, { method, headers, body });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: parseBody(text) as T, text };
  }

  /**
   * Sends only the headers of a request that announces a `contentLength`-byte
   * body, and reads the answer. For a server that refuses a body by its
   * announced size and closes the connection: a client still writing the body
   * then may get a reset instead of the answer, which is a race, not a result.
   */
  requestAnnouncingBody<T = any>(method: string, path: string, contentLength: number, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const sent: Record<string, string> = { ...headers, 'content-length': String(contentLength) };
    if (this.key) sent['authorization'] = `Bearer ${this.key}`;
    return new Promise((resolve, reject) => {
      const req = httpRequest(new URL(path, this.baseUrl), { method, headers: sent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const received = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value]) received.append(name, one);
          }
          req.destroy();
          resolve({ status: res.statusCode ?? 0, headers: received, body: parseBody(text) as T, text });
        });
      });
      req.on('error', reject);
      req.flushHeaders();
    });
  }

  get<T = any>(path: string, options?: { headers?: Record<string, string>; key?: string | null }) {
    return this.request<T>('GET', path, options);
  }
  post<T = any>(path: string, body?: unknown, options?: { headers?: Record<string, string>; key?: string | null }) {
    return this.request<T>('POST', path, { ...options, body });
  }
  patch<T = any>(path: string, body?: unknown, options?: { key?: string | null }) {
    return this.request<T>('PATCH', path, { ...options, body });
  }
  put<T = any>(path: string, body?: unknown, options?: { key?: string | null }) {
    return this.request<T>('PUT', path, { ...options, body });
  }
  delete<T = any>(path: string, options?: { key?: string | null }) {
    return this.request<T>('DELETE', path, options);
  }
}

function parseBody(text: string): unknown {
  try {
    return text.length > 0 ? JSON.parse(text) : null;
  } catch {
    // Not JSON (HTML, Prometheus text): keep the text.
    return text;
  }
}

/**
 * Polls until `check` returns a value (not undefined) — for state that is
 * only observable by asking, like an execution's status over the API.
 */
export async function eventually<T>(check: () => Promise<T | undefined>, options: { timeoutMs?: number; intervalMs?: number; what?: string } = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${options.what ?? 'condition'}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 50));
  }
}

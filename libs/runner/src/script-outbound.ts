import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { KilnConfig } from '@kiln/config';
import type { ClaimedExecution } from '@kiln/db';
import { Counter, Registry, type Logger } from '@kiln/observability';
import { OutboundClient, OutboundError, parseAllowList, type OutboundResponse, type RedirectMode } from '@kiln/outbound';
import { InjectConfig, InjectLogger } from '@kiln/platform';
import { z } from 'zod';
import { HostCallError } from './host-call-error';
import { SlidingWindow } from './sliding-window';

const MINUTE_MS = 60_000;

// What the in-isolate runtime sends (libs/sandbox/src/runtime/fetch.source.ts).
// Anything else is a script poking at the host op directly: refuse it.
const fetchArgs = z.tuple([
  z.string(),
  z
    .object({
      method: z.string().optional(),
      headers: z.record(z.string(), z.string()).optional(),
      body: z.string().optional(),
      timeout: z.number().optional(),
      redirect: z.enum(['follow', 'manual', 'error']).optional(),
    })
    .optional(),
]);

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const httpArgs = z.tuple([
  z.object({
    method: z.string(),
    url: z.string(),
    body: z.unknown().optional(),
    headers: z.record(z.string(), z.union([scalar, z.array(scalar), z.null()])).optional(),
    query: z.record(z.string(), z.union([scalar, z.array(scalar), z.null()])).optional(),
    timeout: z.number().optional(),
  }),
]);

/** What `fetch` gets back (the runtime builds its Response from it). */
export interface FetchReply {
  status: number;
  statusText: string;
  headers: Record<string, string>;
  url: string;
  redirected: boolean;
  body: string;
}

/** What `sdk.http.*` gets back; the runtime parses JSON bodies by content type. */
export interface HttpReply {
  status: number;
  statusText: string;
  headers: Record<string, string>;
  url: string;
  body: string;
}

export interface OutboundSession {
  fetch(args: unknown[]): Promise<FetchReply>;
  httpRequest(args: unknown[]): Promise<HttpReply>;
}

/**
 * Scripts' `fetch` and `sdk.http` on the worker side: one SSRF-guarded
 * OutboundClient for every run (the same client the guard's own tests
 * exercise), the operator's allow-list, a per-request deadline capped by the
 * run's own time limit, and sdk.http's per-execution rate window. The
 * per-run total (100 requests) is counted by the sandbox's host gate.
 */
@Injectable()
export class ScriptOutbound implements OnApplicationShutdown {
  readonly client: OutboundClient;
  private readonly requests: Counter<'op' | 'outcome'>;

  constructor(
    @InjectConfig() private readonly config: KilnConfig,
    @InjectLogger() private readonly logger: Logger,
    registry: Registry,
  ) {
    this.client = new OutboundClient({
      allow: parseAllowList(config.runs.outboundAllow),
      defaultTimeoutMs: config.runs.outboundTimeoutMs,
      maxResponseBytes: config.runs.outboundMaxResponseBytes,
      userAgent: 'Kiln-Script/1.0',
    });
    this.requests = new Counter({
      name: 'kiln_script_outbound_requests_total',
      help: 'Outbound HTTP requests made by scripts (fetch and sdk.http), by outcome (ok or an OutboundError code)',
      labelNames: ['op', 'outcome'],
      registers: [registry],
    });
  }

  session(execution: Pick<ClaimedExecution, 'id' | 'timeoutMs'>): OutboundSession {
    const window = new SlidingWindow(this.config.runs.sdkHttpPerMinute, MINUTE_MS);
    return {
      fetch: (args) => this.fetch(execution, args),
      httpRequest: (args) => {
        if (!window.tryTake()) {
          const seconds = Math.ceil(window.retryAfterMs() / 1000);
          throw new HostCallError(
            `sdk.http rate limit: at most ${this.config.runs.sdkHttpPerMinute} requests per minute per execution (KILN_SDK_HTTP_PER_MINUTE); a slot frees in ${seconds} s`,
          );
        }
        return this.httpRequest(execution, args);
      },
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client.close().catch(() => undefined);
  }

  private async fetch(execution: Pick<ClaimedExecution, 'id' | 'timeoutMs'>, args: unknown[]): Promise<FetchReply> {
    const parsed = fetchArgs.safeParse(args);
    if (!parsed.success) throw new HostCallError('fetch: malformed request');
    const [url, init = {}] = parsed.data;
    const response = await this.send('fetch', execution, {
      url,
      method: init.method ?? 'GET',
      headers: init.headers ?? {},
      body: init.body,
      timeoutMs: init.timeout,
      redirect: init.redirect ?? 'follow',
    });
    return {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
      url: response.url,
      redirected: response.redirected,
      body: response.body.toString('utf8'),
    };
  }

  private async httpRequest(execution: Pick<ClaimedExecution, 'id' | 'timeoutMs'>, args: unknown[]): Promise<HttpReply> {
    const parsed = httpArgs.safeParse(args);
    if (!parsed.success) throw new HostCallError('sdk.http: malformed request');
    const request = parsed.data[0];
    const url = withQuery(request.url, request.query);
    const headers = flatHeaders(request.headers);
    headers.accept ??= 'application/json, text/plain;q=0.9, */*;q=0.8';
    let body: string | undefined;
    if (typeof request.body === 'string') {
      body = request.body;
    } else if (request.body !== undefined && request.body !== null) {
      body = JSON.stringify(request.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await this.send('sdk.http', execution, {
      url,
      method: request.method,
      headers,
      body,
      timeoutMs: request.timeout,
      redirect: 'follow',
    });
    return {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
      url: response.url,
      body: response.body.toString('utf8'),
    };
  }

  private async send(
    op: 'fetch' | 'sdk.http',
    execution: Pick<ClaimedExecution, 'id' | 'timeoutMs'>,
    request: { url: string; method: string; headers: Record<string, string>; body: string | undefined; timeoutMs: number | undefined; redirect: RedirectMode },
  ): Promise<OutboundResponse> {
    const started = performance.now();
    try {
      const response = await this.client.request({
        url: request.url,
        method: request.method,
        headers: request.headers,
        ...(request.body !== undefined ? { body: request.body } : {}),
        timeoutMs: this.timeoutFor(request.timeoutMs, execution.timeoutMs),
        redirect: request.redirect,
      });
      this.requests.inc({ op, outcome: 'ok' });
      this.logger.debug(
        { executionId: execution.id, op, method: request.method, target: describeUrl(request.url), status: response.status, ms: Math.round(performance.now() - started) },
        'script outbound request',
      );
      return response;
    } catch (err) {
      if (err instanceof OutboundError) {
        this.requests.inc({ op, outcome: err.code });
        this.logger.info({ executionId: execution.id, op, target: describeUrl(request.url), code: err.code }, 'script outbound request refused or failed');
        throw new HostCallError(`${op} ${describeUrl(request.url)} failed [${err.code}]: ${err.message}`);
      }
      this.requests.inc({ op, outcome: 'INTERNAL' });
      this.logger.error({ err, executionId: execution.id, op }, 'script outbound request failed unexpectedly');
      throw new HostCallError(`${op} ${describeUrl(request.url)} failed: internal error`);
    }
  }

  /** The script may shorten the default; nothing outlives the run itself. */
  private timeoutFor(requested: number | undefined, runTimeoutMs: number): number {
    const wanted = requested !== undefined && Number.isFinite(requested) && requested >= 1 ? Math.floor(requested) : this.config.runs.outboundTimeoutMs;
    return Math.max(1, Math.min(wanted, runTimeoutMs));
  }
}

type QueryValue = string | number | boolean | null | (string | number | boolean)[];

function withQuery(url: string, query: Record<string, QueryValue> | undefined): string {
  if (!query || Object.keys(query).length === 0) return url;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // The client reports the bad URL with its own wording.
    return url;
  }
  for (const [name, value] of Object.entries(query)) {
    if (value === null) continue;
    for (const item of Array.isArray(value) ? value : [value]) parsed.searchParams.append(name, String(item));
  }
  return parsed.href;
}

function flatHeaders(headers: Record<string, QueryValue> | undefined): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === null) continue;
    flat[name.toLowerCase()] = Array.isArray(value) ? value.map(String).join(', ') : String(value);
  }
  return flat;
}

/** Origin and path only: query strings often carry tokens, and this text lands in logs and errors. */
function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return JSON.stringify(url.length > 100 ? `${url.slice(0, 100)}…` : url);
  }
}

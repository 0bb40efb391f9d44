import { Agent, type Dispatcher } from 'undici';
import { AddressGuard, type HostResolver, systemResolver } from './address-guard';
import type { AllowList } from './allow-list';
import { toOutboundError } from './map-error';
import { OutboundError } from './outbound-error';
import { createPinnedConnector } from './pinned-connector';
import { readCappedBody } from './read-capped-body';
import { type HopRequest, isRedirectStatus, nextHopRequest } from './redirects';
import { assertBodyAllowed, flattenHeaders, normaliseHeaders, normaliseMethod } from './request-shape';
import { hostnameOf, parseTargetUrl } from './target-url';

export interface OutboundClientOptions {
  /** Operator exceptions to the SSRF guard (see parseAllowList). */
  readonly allow: AllowList;
  /** Total deadline per request() call, redirects and body included. */
  readonly defaultTimeoutMs?: number;
  readonly maxResponseBytes?: number;
  readonly maxRedirects?: number;
  /** Sent when the request sets no User-Agent of its own. */
  readonly userAgent?: string;
  /** DNS lookup; defaults to the system resolver (dns.lookup). Tests inject hostile answers here. */
  readonly resolver?: HostResolver;
}

export type RedirectMode = 'follow' | 'manual' | 'error';

export interface OutboundRequest {
  readonly url: string | URL;
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
  readonly timeoutMs?: number;
  readonly redirect?: RedirectMode;
}

export interface OutboundResponse {
  readonly status: number;
  readonly statusText: string;
  /** Lower-case names; repeated fields joined with ", ". */
  readonly headers: Record<string, string>;
  /** Exactly as received (no content decoding). */
  readonly body: Buffer;
  /** The URL of the final hop, without fragment. */
  readonly url: string;
  readonly redirected: boolean;
}

const DEFAULTS = {
  defaultTimeoutMs: 10_000,
  maxResponseBytes: 5 * 1024 * 1024,
  maxRedirects: 5,
  userAgent: 'Kiln/1.0',
};
// Redirect bodies are thrown away; reading a little keeps the connection
// reusable, anything bigger is cheaper to drop with the socket.
const REDIRECT_DRAIN_BYTES = 64 * 1024;

// setTimeout silently turns longer delays into 1 ms.
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

function isTimeout(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 1 && value <= MAX_TIMEOUT_MS;
}

function assertCount(name: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${value}`);
  return value;
}

/**
 * The one HTTP client for user-directed traffic (script fetch/sdk.http and
 * webhook delivery). Every connection goes through a pinned connector that
 * vets the resolved address, every redirect hop is re-parsed and re-vetted,
 * and each call has a total deadline and a response size cap.
 */
export class OutboundClient {
  private readonly guard: AddressGuard;
  private readonly agent: Agent;
  private readonly defaultTimeoutMs: number;
  private readonly maxResponseBytes: number;
  private readonly maxRedirects: number;
  private readonly userAgent: string;

  constructor(options: OutboundClientOptions) {
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULTS.defaultTimeoutMs;
    if (!isTimeout(this.defaultTimeoutMs)) {
      throw new RangeError(`defaultTimeoutMs must be an integer from 1 to ${MAX_TIMEOUT_MS}, got ${this.defaultTimeoutMs}`);
    }
    this.maxResponseBytes = assertCount('maxResponseBytes', options.maxResponseBytes ?? DEFAULTS.maxResponseBytes, 0);
    this.maxRedirects = assertCount('maxRedirects', options.maxRedirects ?? DEFAULTS.maxRedirects, 0);
    this.userAgent = options.userAgent ?? DEFAULTS.userAgent;
    this.guard = new AddressGuard(options.allow, options.resolver ?? systemResolver);
    this.agent = new Agent({
      connect: createPinnedConnector(this.guard, this.defaultTimeoutMs),
      // Second line behind readCappedBody: undici's parser stops counting
      // bytes into memory at the same cap.
      maxResponseSize: this.maxResponseBytes,
    });
  }

  async request(request: OutboundRequest): Promise<OutboundResponse> {
    const timeoutMs = request.timeoutMs ?? this.defaultTimeoutMs;
    if (!isTimeout(timeoutMs)) {
      throw new OutboundError('INVALID_REQUEST', `timeoutMs must be an integer from 1 to ${MAX_TIMEOUT_MS}, got ${timeoutMs}`);
    }
    const deadline = new AbortController();
    const timer = setTimeout(() => {
      deadline.abort(new OutboundError('TIMEOUT', `Request timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    try {
      return await this.follow(request, deadline.signal, timeoutMs);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Subscribe-time check: throws unless every address `url` resolves to may be reached. */
  async assertAllowedUrl(url: string | URL): Promise<void> {
    await this.guard.resolve(hostnameOf(parseTargetUrl(url)));
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private async follow(request: OutboundRequest, signal: AbortSignal, timeoutMs: number): Promise<OutboundResponse> {
    const mode = request.redirect ?? 'follow';
    let url = parseTargetUrl(request.url);
    const method = normaliseMethod(request.method ?? 'GET');
    assertBodyAllowed(method, request.body);
    let hop: HopRequest = { method, headers: normaliseHeaders(request.headers, this.userAgent), body: request.body };

    for (let redirects = 0; ; redirects += 1) {
      const response = await this.send(url, hop, signal, timeoutMs);
      const location = isRedirectStatus(response.statusCode) ? firstValue(response.headers.location) : undefined;
      if (location === undefined || mode === 'manual') return this.toResponse(response, url, redirects > 0, signal);

      await response.body.dump({ limit: REDIRECT_DRAIN_BYTES }).catch(() => undefined);
      if (mode === 'error') {
        throw new OutboundError('REDIRECT_REFUSED', `Redirect (${response.statusCode}) refused: redirect mode is 'error'`);
      }
      if (redirects >= this.maxRedirects) {
        throw new OutboundError('TOO_MANY_REDIRECTS', `More than ${this.maxRedirects} redirects`);
      }
      const next = parseTargetUrl(location, url);
      hop = nextHopRequest(response.statusCode, hop, url, next);
      url = next;
    }
  }

  private async send(url: URL, hop: HopRequest, signal: AbortSignal, timeoutMs: number): Promise<Dispatcher.ResponseData> {
    const host = hostnameOf(url);
    // IP literals are judged before undici queues anything, so a refused
    // address (169.254.169.254) fails at once; names are vetted in the
    // connector, on the very answer that the socket then uses.
    this.guard.checkLiteral(host);
    try {
      return await this.agent.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: hop.method,
        headers: hop.headers,
        body: hop.body ?? null,
        signal,
        // The deadline above is the real limit; these only stop undici's
        // own 300 s defaults from outliving it.
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
    } catch (error) {
      throw toOutboundError(signal.aborted ? signal.reason : error, url.host, this.maxResponseBytes);
    }
  }

  private async toResponse(
    response: Dispatcher.ResponseData,
    url: URL,
    redirected: boolean,
    signal: AbortSignal,
  ): Promise<OutboundResponse> {
    const headers = flattenHeaders(response.headers);
    let body: Buffer;
    try {
      body = await readCappedBody(response.body, firstValue(response.headers['content-length']), this.maxResponseBytes);
    } catch (error) {
      throw toOutboundError(signal.aborted ? signal.reason : error, url.host, this.maxResponseBytes);
    }
    // Like fetch's Response.url: the fragment never reaches the server, so it is not part of the answer's URL.
    const finalUrl = new URL(url);
    finalUrl.hash = '';
    return { status: response.statusCode, statusText: response.statusText, headers, body, url: finalUrl.href, redirected };
  }
}

function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

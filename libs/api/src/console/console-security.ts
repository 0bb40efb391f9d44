import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** The cookie that carries the console's API key (SPEC §10). Read only on CONSOLE_PATHS (see api-key.guard.ts). */
export const CONSOLE_COOKIE = 'kiln_console';
/** Path prefixes of the console's pages; the API key guard accepts the cookie there and nowhere else. */
export const CONSOLE_PATHS = ['/scripts', '/console'] as const;
/** A console sign-in lasts a working day; the key's own expiry and revocation still apply on every request. */
export const SESSION_MAX_AGE_SECONDS = 8 * 60 * 60;
export const LOGIN_PATH = '/console/login';
export const CSRF_FIELD = '_csrf';
export const CSRF_HEADER = 'x-csrf-token';

/** `name=value` out of a Cookie header, without a parser dependency (the key is plain ASCII). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    return value.length > 0 ? value : undefined;
  }
  return undefined;
}

export function sessionCookie(key: string, secure: boolean): string {
  return `${CONSOLE_COOKIE}=${key}; Path=/; Max-Age=${SESSION_MAX_AGE_SECONDS}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

export function clearedSessionCookie(secure: boolean): string {
  return `${CONSOLE_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

/** https as seen by the client: the request itself (X-Forwarded-Proto behind a proxy) or KILN_PUBLIC_URL. */
export function isSecureRequest(request: FastifyRequest, publicUrl: string | undefined): boolean {
  return request.protocol === 'https' || (publicUrl?.startsWith('https:') ?? false);
}

/**
 * The per-session CSRF token: an HMAC of a fixed label keyed with the
 * session's API key. Stateless, different for every key, and useless to
 * anyone who cannot already read the (HttpOnly) key itself.
 */
export function csrfToken(apiKey: string): string {
  return createHmac('sha256', apiKey).update('kiln-console-csrf/v1').digest('base64url');
}

export function csrfTokenMatches(apiKey: string, presented: string | undefined): boolean {
  if (!presented) return false;
  const expected = Buffer.from(csrfToken(apiKey));
  const given = Buffer.from(presented);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function originOf(url: string): string | null {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.origin : null;
  } catch {
    return null;
  }
}

/**
 * Why a state-changing request looks cross-site, or null when it does not:
 * Sec-Fetch-Site, then Origin, then Referer must name this gateway (the
 * Host the request came to, or KILN_PUBLIC_URL). A request that carries none
 * of them (old clients, curl) is judged by its CSRF token alone.
 */
export function crossSiteReason(request: FastifyRequest, publicUrl: string | undefined): string | null {
  const own = new Set<string>([`${request.protocol}://${request.host}`.toLowerCase()]);
  const publicOrigin = publicUrl ? originOf(publicUrl) : null;
  if (publicOrigin) own.add(publicOrigin.toLowerCase());
  const site = header(request, 'sec-fetch-site');
  if (site && site !== 'same-origin' && site !== 'none') return `Sec-Fetch-Site is ${site}`;
  const origin = header(request, 'origin');
  if (origin) return own.has(origin.toLowerCase()) ? null : `Origin ${origin} is not this console`;
  const referer = header(request, 'referer');
  if (referer) {
    const refererOrigin = originOf(referer);
    return refererOrigin && own.has(refererOrigin.toLowerCase()) ? null : 'Referer is not this console';
  }
  return null;
}

export function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value : Array.isArray(value) ? value[0] : undefined;
}

export function isHtmx(request: FastifyRequest): boolean {
  return header(request, 'hx-request') === 'true';
}

/**
 * Content-Security-Policy of console responses: same-origin scripts and
 * styles only, no inline script anywhere. Monaco writes <style> elements at
 * run time (monaco-editor#271), so the two editor pages alone allow inline
 * styles; its codicon font is a data: URI, and its workers are same-origin
 * script URLs (console.js configures them), never blob: ones.
 */
export function contentSecurityPolicy(editor: boolean): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    editor ? "style-src 'self' 'unsafe-inline'" : "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

/** Every console answer (pages, fragments, redirects, errors): strict CSP, no framing, never cached. */
export function applySecurityHeaders(reply: FastifyReply, options: { editor?: boolean } = {}): void {
  void reply
    .header('Content-Security-Policy', contentSecurityPolicy(options.editor ?? false))
    .header('X-Frame-Options', 'DENY')
    .header('X-Content-Type-Options', 'nosniff')
    .header('Referrer-Policy', 'same-origin')
    .header('Cross-Origin-Opener-Policy', 'same-origin')
    .header('Cache-Control', 'no-store')
    .header('Vary', 'Cookie, HX-Request');
}

/** Where to go after signing in: only a console page of this gateway (never an open redirect). */
export function safeNext(next: unknown): string {
  if (typeof next !== 'string') return '/scripts';
  if (!/^\/(scripts|console)(\/[A-Za-z0-9._~%/-]*)?(\?[A-Za-z0-9._~%&=-]*)?$/.test(next) || next.includes('//') || next.startsWith(LOGIN_PATH)) return '/scripts';
  return next;
}

import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { KilnConfig } from '@kiln/config';
import { KilnError } from '@kiln/core';
import { InjectConfig } from '@kiln/platform';
import type { FastifyRequest } from 'fastify';
import { CSRF_FIELD, CSRF_HEADER, crossSiteReason, csrfTokenMatches, header } from './console-security';
import { cookieKey } from './console-session';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * CSRF defence of the console's state-changing requests (runs after the
 * API key guard). Both must hold:
 * 1. nothing says the request is cross-site (Sec-Fetch-Site, Origin, Referer);
 * 2. it carries the session's CSRF token: the `X-CSRF-Token` header (htmx
 *    sends it on every request, from hx-headers on <body>) or the `_csrf`
 *    field (plain forms, no JavaScript).
 * The cookie itself is SameSite=Strict as well; this does not rely on it.
 */
@Injectable()
export class ConsoleCsrfGuard implements CanActivate {
  constructor(@InjectConfig() private readonly config: KilnConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (SAFE_METHODS.has(request.method)) return true;
    checkSameOrigin(request, this.config.http.publicUrl);
    const key = cookieKey(request);
    const body = request.body && typeof request.body === 'object' ? (request.body as Record<string, unknown>) : {};
    const field = body[CSRF_FIELD];
    const fromBody = typeof field === 'string' ? field : undefined;
    const presented = header(request, CSRF_HEADER) ?? fromBody;
    if (!key || !csrfTokenMatches(key, presented)) {
      throw KilnError.forbidden('This form has expired or did not come from the console (CSRF token missing or wrong). Reload the page and try again.', 'CSRF_REJECTED');
    }
    return true;
  }
}

export function checkSameOrigin(request: FastifyRequest, publicUrl: string | undefined): void {
  const reason = crossSiteReason(request, publicUrl);
  if (reason) throw KilnError.forbidden(`Cross-site request refused (${reason})`, 'CSRF_REJECTED');
}

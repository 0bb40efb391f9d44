import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { hasScope, KilnError, type Scope } from '@kiln/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RateLimiter } from '../limits/rate-limiter';
import { ApiKeyResolver } from './api-key-resolver';
import { RunAdmission } from '../runs/run-admission';
import { PUBLIC_ROUTE, REQUIRED_SCOPES, STARTS_RUN } from './auth.decorators';

/** Authorization schemes besides Bearer that a compatibility surface accepts on its own path prefix. */
const surfaceSchemes: { prefix: string; scheme: string }[] = [];

/** E.g. the scenarios document's `Authorization: Token <key>`, on `/scenarios` only. */
export function registerAuthScheme(prefix: string, scheme: string): void {
  if (!surfaceSchemes.some((s) => s.prefix === prefix && s.scheme === scheme.toLowerCase())) surfaceSchemes.push({ prefix, scheme: scheme.toLowerCase() });
}

function schemeAccepted(scheme: string, url: string): boolean {
  const lower = scheme.toLowerCase();
  if (lower === 'bearer') return true;
  const path = url.split('?')[0] ?? url;
  return surfaceSchemes.some((s) => s.scheme === lower && (path === s.prefix || path.startsWith(`${s.prefix}/`)));
}

/** Cookies that carry a key on one path prefix only: the web console's HttpOnly cookie (SPEC §10) on its pages. */
const cookieSurfaces: { prefix: string; cookie: string }[] = [];

export function registerCookieAuth(prefix: string, cookie: string): void {
  if (!cookieSurfaces.some((s) => s.prefix === prefix && s.cookie === cookie)) cookieSurfaces.push({ prefix, cookie });
}

function keyFromCookie(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (typeof header !== 'string' || cookieSurfaces.length === 0) return undefined;
  const path = request.url.split('?')[0] ?? request.url;
  const surface = cookieSurfaces.find((s) => path === s.prefix || path.startsWith(`${s.prefix}/`));
  if (!surface) return undefined;
  const pair = header.split(';').find((part) => part.trim().startsWith(`${surface.cookie}=`));
  const value = pair?.slice(pair.indexOf('=') + 1).trim();
  return value ? value : undefined;
}

/** `Authorization: Bearer <key>` or `?apiKey=<key>` (SPEC §2), plus a surface's own scheme or cookie on its paths. */
export function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const match = /^(\S+)\s+(\S+)\s*$/.exec(header);
    if (match && schemeAccepted(match[1] as string, request.url)) return match[2];
  }
  const query = request.query as Record<string, unknown> | undefined;
  const fromQuery = query?.apiKey;
  return typeof fromQuery === 'string' && fromQuery.length > 0 ? fromQuery : keyFromCookie(request);
}

@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly resolver: ApiKeyResolver,
    private readonly rateLimiter: RateLimiter,
    private readonly admission: RunAdmission,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const auth = await this.resolver.resolve(presentedKey(request));
    const needed = this.reflector.getAllAndOverride<Scope[] | undefined>(REQUIRED_SCOPES, targets) ?? [];
    const missing = needed.filter((scope) => !hasScope(auth.scopes, scope));
    // A run's quotas ride along with its token, unless the answer is sure to be 403 or the run would be held (backpressure).
    const countRun = missing.length === 0 && this.reflector.get<boolean>(STARTS_RUN, context.getHandler()) === true && this.admission.mayCountEarly();
    // Authenticated from here on: every answer, errors included, carries X-RateLimit-*; an empty bucket is 429.
    await this.rateLimiter.apply(request, context.switchToHttp().getResponse<FastifyReply>(), auth, { countRun });
    request.kilnAuth = auth;
    if (missing.length > 0) {
      throw KilnError.forbidden(`API key lacks the scope${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`, 'MISSING_SCOPE');
    }
    return true;
  }
}

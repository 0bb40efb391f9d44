import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { hasScope, KilnError, type Scope } from '@kiln/core';
import type { FastifyRequest } from 'fastify';
import { ApiKeyResolver } from './api-key-resolver';
import { PUBLIC_ROUTE, REQUIRED_SCOPES } from './auth.decorators';

/** `Authorization: Bearer <key>` or `?apiKey=<key>` (SPEC §2). */
export function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match) return match[1];
  }
  const query = request.query as Record<string, unknown> | undefined;
  const fromQuery = query?.apiKey;
  return typeof fromQuery === 'string' && fromQuery.length > 0 ? fromQuery : undefined;
}

@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly resolver: ApiKeyResolver,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const auth = await this.resolver.resolve(presentedKey(request));
    request.kilnAuth = auth;
    const needed = this.reflector.getAllAndOverride<Scope[] | undefined>(REQUIRED_SCOPES, targets) ?? [];
    const missing = needed.filter((scope) => !hasScope(auth.scopes, scope));
    if (missing.length > 0) {
      throw KilnError.forbidden(`API key lacks the scope${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`, 'MISSING_SCOPE');
    }
    return true;
  }
}

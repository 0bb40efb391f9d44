import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import type { Scope } from '@kiln/core';
import type { FastifyRequest } from 'fastify';
import type { AuthContext } from './auth-context';

export const PUBLIC_ROUTE = 'kiln:public';
export const REQUIRED_SCOPES = 'kiln:scopes';

/** No API key needed (health, metrics, docs, public endpoints). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC_ROUTE, true);

/** Every listed scope is required (`admin` satisfies all). */
export const RequireScopes = (...scopes: Scope[]): MethodDecorator & ClassDecorator => SetMetadata(REQUIRED_SCOPES, scopes);

export const Auth = createParamDecorator((_data: unknown, ctx: ExecutionContext): AuthContext => {
  const request = ctx.switchToHttp().getRequest<FastifyRequest>();
  if (!request.kilnAuth) throw new Error('Auth() used on a route without the API key guard');
  return request.kilnAuth;
});

import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import type { Scope } from '@kiln/core';
import type { FastifyRequest } from 'fastify';
import type { PreAdmittedRun } from '../limits/pre-admitted-run';
import type { AuthContext } from './auth-context';

export const PUBLIC_ROUTE = 'kiln:public';
export const REQUIRED_SCOPES = 'kiln:scopes';
export const STARTS_RUN = 'kiln:starts-run';

/** No API key needed (health, metrics, docs, public endpoints). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC_ROUTE, true);

/**
 * The route starts one run through RunsService: the guard decides the
 * run's quotas along with the rate-limit token (PreAdmittedRun), and the
 * handler passes them on with @PreAdmitted().
 */
export const StartsRun = (): MethodDecorator => SetMetadata(STARTS_RUN, true);

/** Every listed scope is required (`admin` satisfies all). */
export const RequireScopes = (...scopes: Scope[]): MethodDecorator & ClassDecorator => SetMetadata(REQUIRED_SCOPES, scopes);

export const Auth = createParamDecorator((_data: unknown, ctx: ExecutionContext): AuthContext => {
  const request = ctx.switchToHttp().getRequest<FastifyRequest>();
  if (!request.kilnAuth) throw new Error('Auth() used on a route without the API key guard');
  return request.kilnAuth;
});

/** The run quotas the guard decided for a @StartsRun() route (undefined when it could not: RunsService decides then). */
export const PreAdmitted = createParamDecorator((_data: unknown, ctx: ExecutionContext): PreAdmittedRun | undefined => {
  return ctx.switchToHttp().getRequest<FastifyRequest>().kilnPreAdmittedRun;
});

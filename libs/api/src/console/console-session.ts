import { hasScope } from '@kiln/core';
import type { FastifyRequest } from 'fastify';
import type { AuthContext } from '../auth/auth-context';
import { CONSOLE_COOKIE, csrfToken, readCookie } from './console-security';
import type { ConsoleSession } from './console-views';

/** The key the console cookie carries, if any. */
export function cookieKey(request: FastifyRequest): string | undefined {
  return readCookie(request.headers.cookie, CONSOLE_COOKIE);
}

/** The signed-in console user as the views need it (null when the request carries no resolved key). */
export function consoleSession(request: FastifyRequest): ConsoleSession | null {
  const auth: AuthContext | undefined = request.kilnAuth;
  const key = cookieKey(request);
  if (!auth) return null;
  return {
    tenantSlug: auth.tenantSlug,
    keyPrefix: auth.keyPrefix,
    // A request authenticated some other way (Bearer) gets a token that matches nothing: it cannot change anything here.
    csrf: key ? csrfToken(key) : '',
    canWrite: hasScope(auth.scopes, 'scripts.write'),
    canRun: hasScope(auth.scopes, 'executions.run'),
    canReadExecutions: hasScope(auth.scopes, 'executions.read'),
  };
}

export function requireSession(request: FastifyRequest): ConsoleSession {
  const session = consoleSession(request);
  if (!session) throw new Error('console route reached without the API key guard');
  return session;
}

import type { Scope } from '@kiln/core';

/** Who is calling: resolved once per request by the API key guard. */
export interface AuthContext {
  apiKeyId: string;
  tenantId: string;
  tenantSlug: string;
  scopes: readonly string[];
  isAdmin: boolean;
  keyPrefix: string;
  monthlyExecutionLimit: number | null;
  rateLimit: { burst: number | null; refillPerSecond: number | null };
  webhook: { url: string; events: string[]; secretEnc: string | null } | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    kilnAuth?: AuthContext;
  }
}

export type { Scope };

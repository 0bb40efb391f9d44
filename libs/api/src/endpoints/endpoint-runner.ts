import { Injectable } from '@nestjs/common';
import { hasScope, isValidEndpointPath, KilnError, normalizeEndpointPath } from '@kiln/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthContext } from '../auth/auth-context';
import { presentedKey } from '../auth/api-key.guard';
import { ApiKeyResolver } from '../auth/api-key-resolver';
import { RateLimiter } from '../limits/rate-limiter';
import { RunsService } from '../runs/runs.service';
import { ScriptCache } from '../scripts/script-cache';
import { EndpointRoutes } from './endpoint-routes';
import { toEndpointReply, type EndpointReply } from './endpoint-reply';
import { toEndpointHttpRequest } from './endpoint-request';

/** Beyond the script's own time limit: queueing, a cold isolate, recording the outcome. */
export const ENDPOINT_WAIT_MARGIN_MS = 5_000;

/**
 * One call of `ANY /x/:tenantSlug/<path>`: find the script bound to the path
 * and method, check the API key when the script asks for one, run it through
 * RunsService (the same path as every other run) and wait for its answer.
 */
@Injectable()
export class EndpointRunner {
  constructor(
    private readonly routes: EndpointRoutes,
    private readonly scripts: ScriptCache,
    private readonly runs: RunsService,
    private readonly keys: ApiKeyResolver,
    private readonly rateLimiter: RateLimiter,
  ) {}

  async handle(request: FastifyRequest, reply: FastifyReply, tenantSlug: string, rawPath: string): Promise<EndpointReply> {
    const path = normalizeEndpointPath(rawPath);
    const method = request.method.toUpperCase();
    const notFound = () => new KilnError(404, 'NOT_FOUND', `No endpoint ${method} /x/${tenantSlug}/${path}`);
    if (!isValidEndpointPath(path)) throw notFound();

    const tenant = await this.routes.tenantBySlug(tenantSlug);
    if (!tenant) throw notFound();
    // HEAD is GET without a body unless a script claims HEAD itself.
    const scriptId =
      (await this.routes.scriptIdFor(tenant.id, path, method)) ?? (method === 'HEAD' ? await this.routes.scriptIdFor(tenant.id, path, 'GET') : null);
    if (!scriptId) throw notFound();
    const script = await this.scripts.get(tenant.id, scriptId);
    if (!script) throw notFound();

    const auth = script.httpRequireKey ? await this.authenticate(request, reply, tenant.id, tenantSlug) : null;
    const httpRequest = toEndpointHttpRequest(request, path);
    const waitMs = script.timeoutMs + ENDPOINT_WAIT_MARGIN_MS;
    const outcome = await this.runs.start({
      tenantId: tenant.id,
      apiKeyId: auth?.apiKeyId ?? null,
      monthlyExecutionLimit: auth?.monthlyExecutionLimit ?? null,
      target: { kind: 'script', script },
      input: httpRequest.body,
      trigger: { type: 'http', httpRequest, ...(auth ? { apiKeyPrefix: auth.keyPrefix } : {}) },
      waitMs,
      // Paused and draft scripts answer 409 SCRIPT_INACTIVE, as their runs do.
      allowDraft: false,
    });
    return toEndpointReply(outcome.executionId, outcome.finished, waitMs);
  }

  private async authenticate(request: FastifyRequest, reply: FastifyReply, tenantId: string, tenantSlug: string): Promise<AuthContext> {
    const auth = await this.keys.resolve(presentedKey(request));
    if (auth.tenantId !== tenantId && !auth.isAdmin) {
      throw KilnError.unauthorized(`This endpoint needs an API key of tenant '${tenantSlug}'`);
    }
    if (!hasScope(auth.scopes, 'executions.run')) {
      throw KilnError.forbidden('API key lacks the scope executions.run', 'MISSING_SCOPE');
    }
    // A key-protected endpoint spends the key's tokens like any API call.
    await this.rateLimiter.apply(request, reply, auth);
    return auth;
  }
}

import { Controller, Get, Param } from '@nestjs/common';
import { KilnError, storedSteps } from '@kiln/core';
import { ExecutionRepository } from '@kiln/db';
import type { AuthContext } from '../auth/auth-context';
import { Auth, RequireScopes } from '../auth/auth.decorators';
import { documentOperations } from '../docs/openapi-document';
import { uuidParam } from '../http/uuid-param';

documentOperations({
  method: 'get',
  path: '/v1/executions/:id/steps',
  summary: 'Host calls of a run (fetch, sdk.http, cache, events) in call order: op, target, status, duration, bytes',
  tag: 'executions',
  scopes: ['executions.read'],
  responses: { '200': '{items,total}', '404': 'Not found (or another tenant’s)' },
});

/**
 * The per-step record of an execution: one entry per host call, written by
 * the worker with the outcome. HTTP targets carry no query string, headers
 * or bodies (only sizes), so nothing secret is stored or shown.
 */
@Controller('v1/executions')
export class ExecutionStepsController {
  constructor(private readonly executions: ExecutionRepository) {}

  @Get(':id/steps')
  @RequireScopes('executions.read')
  async steps(@Auth() auth: AuthContext, @Param('id', uuidParam('Execution')) id: string) {
    const execution = await this.executions.findById(auth.tenantId, id);
    if (!execution) throw KilnError.notFound('Execution', id);
    const items = storedSteps(execution.steps).map((step, i) => ({ index: i + 1, ...step }));
    return { items, total: items.length };
  }
}

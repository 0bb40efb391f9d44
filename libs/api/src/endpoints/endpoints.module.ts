import { Module, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { ApiCoreModule } from '../api-core.module';
import { documentOperations } from '../docs/openapi-document';
import { installEndpointBodyParser } from './endpoint-body-parser';
import { EndpointRoutes } from './endpoint-routes';
import { EndpointRunner } from './endpoint-runner';
import { EndpointsController } from './endpoints.controller';

const endpointResponses = {
  '200': "The script's answer: its {status, headers, body}, or its JSON value",
  '202': 'The script asked for approval: {executionId, status: "pending_approval"}',
  '401': 'The script requires an API key of this tenant (requireApiKey)',
  '404': 'No such tenant, path or method',
  '409': 'SCRIPT_INACTIVE: the script is paused or a draft',
  '502': 'The script failed (EXECUTION_ERROR, MEMORY_LIMIT, …) or answered an invalid response',
  '504': 'The script timed out (TIMEOUT) or did not finish within its time limit plus a margin',
};
for (const method of ['get', 'post', 'put', 'patch', 'delete'] as const) {
  documentOperations({
    method,
    path: '/x/:tenantSlug/*',
    summary: `HTTP endpoint: run the script bound to ${method.toUpperCase()} <path> (any content type)`,
    tag: 'endpoints',
    public: true,
    responses: endpointResponses,
  });
}

/** Public HTTP endpoints bound to scripts (`triggers.http`). */
@Module({
  imports: [ApiCoreModule],
  controllers: [EndpointsController],
  providers: [EndpointRoutes, EndpointRunner],
})
export class EndpointsModule implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    const instance = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (instance) installEndpointBodyParser(instance);
  }
}

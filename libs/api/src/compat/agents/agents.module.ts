import { Module } from '@nestjs/common';
import { ApiCoreModule } from '../../api-core.module';
import { documentOperations } from '../../docs/openapi-document';
import { registerErrorEnvelope } from '../../http/error-envelopes';
import { AgentsController } from './agents.controller';
import { decisionBody, executeAgentBody } from './agents.dto';
import { AGENTS_PREFIX, agentsEnvelope } from './agents.envelope';

registerErrorEnvelope(AGENTS_PREFIX, agentsEnvelope);

const tag = 'compat: agents';
const errors = {
  '401': '{message: "Invalid API key", error: "Unauthorized", statusCode: 401}',
  '403': 'API key inactive, expired or over its usage limit; missing scope',
  '404': '{message: "Execution not found", error: "Not Found", statusCode: 404}',
  '429': '{statusCode: 429, message: "Rate limit exceeded", error: "Too Many Requests", retryAfter} (burst 10, 1/s)',
};
documentOperations(
  { method: 'post', path: '/api/v1/public/agents/:workflowId/execute', summary: 'Agents (document 002): start a workflow (a script, by id or name); input.csvData is cut to 100 rows', tag, scopes: ['executions.run'], body: executeAgentBody, responses: { '202': '{executionId, status: "pending", startedAt, message}', '400': 'Validation error', ...errors, '403': 'Workflow is inactive (paused or draft), or a key problem', '404': 'Workflow not found' } },
  { method: 'get', path: '/api/v1/public/executions/:id/status', summary: 'Agents: {id, status, startedAt, completedAt, error, approvalStatus}', tag, scopes: ['executions.read'], responses: { '200': 'Status', ...errors } },
  { method: 'get', path: '/api/v1/public/executions/:id/results', summary: 'Agents: {id, status, output, error, startedAt, completedAt}', tag, scopes: ['executions.read'], responses: { '200': 'Results', ...errors } },
  { method: 'get', path: '/api/v1/public/executions/:id/pending-approval', summary: 'Agents: {id, workflowId, status, approvalData: {rows, metadata, displayFields}, startedAt}', tag, scopes: ['executions.read'], responses: { '200': 'Approval data', ...errors, '404': 'Execution not found, or not pending approval' } },
  { method: 'post', path: '/api/v1/public/executions/:id/approve', summary: 'Agents: approve; the script’s onApproved runs', tag, scopes: ['executions.run'], body: decisionBody, responses: { '200': '{executionId, status: "approved", message}', ...errors, '409': 'Not pending approval' } },
  { method: 'post', path: '/api/v1/public/executions/:id/reject', summary: 'Agents: reject; the execution ends cancelled', tag, scopes: ['executions.run'], body: decisionBody, responses: { '200': '{executionId, status: "rejected", message}', ...errors, '409': 'Not pending approval' } },
);

/** Document 002: the public agents API. */
@Module({
  imports: [ApiCoreModule],
  controllers: [AgentsController],
})
export class AgentsModule {}

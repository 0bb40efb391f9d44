import { Module } from '@nestjs/common';
import { ApiCoreModule } from '../../api-core.module';
import { registerAuthScheme } from '../../auth/api-key.guard';
import { documentOperations } from '../../docs/openapi-document';
import { registerErrorEnvelope } from '../../http/error-envelopes';
import { runScenarioBody, updateScenarioBody } from './scenarios.dto';
import { SCENARIOS_PREFIX, scenariosEnvelope } from './scenarios.envelope';
import { ScenariosController } from './scenarios.controller';

registerErrorEnvelope(SCENARIOS_PREFIX, scenariosEnvelope);
// Document 003's clients send `Authorization: Token <key>`.
registerAuthScheme(SCENARIOS_PREFIX, 'Token');

const tag = 'compat: scenarios';
const errors = { '401': 'UNAUTHORIZED', '404': 'NOT_FOUND: scenario or execution' };
const execPath = '/scenarios/:scenarioId/executions/:executionId';
documentOperations(
  {
    method: 'patch',
    path: '/scenarios/:scenarioId',
    summary: 'Scenarios: activate or pause ({isPaused}; Kiln script status active | paused) or rename',
    tag,
    scopes: ['scripts.write'],
    body: updateScenarioBody,
    responses: { '200': '{scenario: {id, name, isPaused, isActive}}', '400': 'INVALID_INPUT', ...errors },
  },
  {
    method: 'post',
    path: '/scenarios/:scenarioId/run',
    summary: 'Scenarios (document 003): run a script with `data` as input; `responsive: true` waits up to 40 s (KILN_WAIT_MAX_MS)',
    tag,
    scopes: ['executions.run'],
    body: runScenarioBody,
    responses: {
      '200': '{executionId} or, responsive, {executionId, outputs, stats: {operations, dataTransfer}}',
      '400': 'INVALID_INPUT',
      ...errors,
      '409': 'SCENARIO_INACTIVE (paused or draft); EXECUTION_STOPPED',
      '429': 'RATE_LIMITED',
      '500': 'EXECUTION_ERROR with details {moduleId, moduleName, error, executionId}',
      '504': 'TIMEOUT: over its time limit, or not finished within the responsive timeout (it keeps running)',
    },
  },
  {
    method: 'get',
    path: '/scenarios/:scenarioId/executions',
    summary: 'Scenarios: list executions, newest first: {executions, pg: {limit, offset, total}}',
    tag,
    scopes: ['executions.read'],
    query: { 'pg[limit]': 'Page size (1-1000, default 10)', 'pg[offset]': 'Items to skip', from: 'Created at or after (ISO 8601)', to: 'Created at or before (ISO 8601)', status: 'pending|running|completed|stopped|error|warning' },
    responses: { '200': 'Page', '400': 'INVALID_INPUT', ...errors },
  },
  { method: 'get', path: execPath, summary: 'Scenarios: {execution: {id, scenarioId, status, started, finished, operations, dataTransfer, duration}}', tag, scopes: ['executions.read'], responses: { '200': 'Execution', ...errors } },
  { method: 'get', path: `${execPath}/details`, summary: 'Scenarios: per-module breakdown (module 1: the script; then one per host call)', tag, scopes: ['executions.read'], responses: { '200': '{execution: {id, modules}}', ...errors } },
  { method: 'post', path: `${execPath}/stop`, summary: 'Scenarios: stop (Kiln cancel: pending never runs, running is killed)', tag, scopes: ['executions.run'], responses: { '200': '{execution}', ...errors, '409': 'EXECUTION_FINISHED' } },
  { method: 'post', path: `${execPath}/retry`, summary: 'Scenarios: retry a finished execution (new execution, same input)', tag, scopes: ['executions.run'], responses: { '200': '{executionId} of the new execution', ...errors, '409': 'EXECUTION_NOT_FINISHED' } },
);

/** Document 003: the scenarios execution API. */
@Module({
  imports: [ApiCoreModule],
  controllers: [ScenariosController],
})
export class ScenariosModule {}

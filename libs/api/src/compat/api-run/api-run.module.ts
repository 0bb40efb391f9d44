import { Module } from '@nestjs/common';
import { ApiCoreModule } from '../../api-core.module';
import { documentOperations } from '../../docs/openapi-document';
import { registerErrorEnvelope } from '../../http/error-envelopes';
import { ApiRunController } from './api-run.controller';
import { apiRunBody } from './api-run.dto';
import { API_RUN_PREFIX, apiRunEnvelope } from './api-run.envelope';

registerErrorEnvelope(API_RUN_PREFIX, apiRunEnvelope);

documentOperations({
  method: 'post',
  path: '/v2/script/run',
  summary: 'ApiRun compatibility (document 000): run a script by id or name and answer {success, data, executionTime, scriptId}',
  tag: 'compat: ApiRun',
  scopes: ['executions.run'],
  body: apiRunBody,
  responses: {
    '200': '{success: true, data, executionTime (ms), scriptId}',
    '202': 'The script asked for approval: data {executionId, status: "pending_approval"}',
    '400': 'VALIDATION_ERROR or INVALID_INPUT',
    '401': 'UNAUTHORIZED: Invalid or missing API key',
    '403': 'FORBIDDEN: Insufficient permissions (or key inactive, expired, over its monthly limit)',
    '404': 'NOT_FOUND: Script not found',
    '409': 'SCRIPT_INACTIVE: the script is paused',
    '500': 'INTERNAL_ERROR: Script execution failed: <message> (details.stack only when NODE_ENV=development)',
    '504': 'TIMEOUT: the script hit its time limit, or did not finish within it plus 5 s',
  },
});

/** Document 000: `POST /v2/script/run`. */
@Module({
  imports: [ApiCoreModule],
  controllers: [ApiRunController],
})
export class ApiRunModule {}

import { Module } from '@nestjs/common';
import { ApiCoreModule } from '../../api-core.module';
import { documentOperations } from '../../docs/openapi-document';
import { registerErrorEnvelope } from '../../http/error-envelopes';
import { LimitsModule } from '../../limits/limits.module';
import { CodeNodeController } from './code-node.controller';
import { executeCodeBody, validateCodeBody } from './code-node.dto';
import { CODE_EXECUTE_PATH, CODE_NODE_PREFIX, CODE_VALIDATE_PATH, codeExecuteEnvelope, codeNodeEnvelope, codeValidateEnvelope } from './code-node.envelope';

registerErrorEnvelope(CODE_NODE_PREFIX, codeNodeEnvelope);
registerErrorEnvelope(CODE_EXECUTE_PATH, codeExecuteEnvelope);
registerErrorEnvelope(CODE_VALIDATE_PATH, codeValidateEnvelope);

const tag = 'compat: code';
const errors = { '401': '{detail}', '403': '{detail}: missing scope, key inactive, expired or over its limit' };
documentOperations(
  { method: 'post', path: '/api/ai-automation/code/validate', summary: 'Code (document 004): {valid, error} — empty, over 10 KiB, unmatched brackets, a real parse, module loading', tag, scopes: ['scripts.read'], body: validateCodeBody, responses: { '200': '{valid, error}', ...errors } },
  {
    method: 'post',
    path: '/api/ai-automation/code/execute',
    summary: 'Code: run ad-hoc code; {status, output, error, execution_time (s), console_logs, return_value}',
    tag,
    scopes: ['executions.run'],
    body: executeCodeBody,
    responses: { '200': 'Ran: status success | error | timeout | memory_limit', '400': 'status validation_error (code or timeout_ms)', ...errors },
  },
  { method: 'get', path: '/api/ai-automation/code/templates', summary: 'Code: the 12 templates {templates: [{id, name, description}]}', tag, responses: { '200': 'Templates', ...errors } },
  { method: 'get', path: '/api/ai-automation/code/templates/:templateId', summary: 'Code: one template with its code', tag, responses: { '200': '{id, name, description, code}', ...errors, '404': '{detail: "Template not found"}' } },
);

/** Document 004: the code-node API. */
@Module({
  imports: [ApiCoreModule, LimitsModule],
  controllers: [CodeNodeController],
})
export class CodeNodeModule {}

import { Body, Controller, Post, Res } from '@nestjs/common';
import type { KilnConfig } from '@kiln/config';
import { InjectConfig } from '@kiln/platform';
import type { FastifyReply } from 'fastify';
import type { AuthContext } from '../../auth/auth-context';
import { Auth, RequireScopes } from '../../auth/auth.decorators';
import { ZodPipe } from '../../http/zod-body.pipe';
import { RunsService } from '../../runs/runs.service';
import { ScriptCache } from '../../scripts/script-cache';
import { runCommandBase, SURFACE_WAIT_MARGIN_MS } from '../compat-run';
import { apiRunBody, type ApiRunBody } from './api-run.dto';
import { apiRunEnvelope } from './api-run.envelope';
import { apiRunAnswer } from './api-run.response';

/**
 * `POST /v2/script/run` (document 000, ApiRun events): runs a stored script
 * by id or name and answers with its result. The handler argument gets the
 * document's event fields: `eventData: {query, body}`, `eventName: "ApiRun"`,
 * `requestUser`, `apiKey` (the key's display prefix, never the key) and
 * `scriptId`, besides every Kiln global (`API` is `sdk`).
 */
@Controller('v2/script')
@RequireScopes('executions.run')
export class ApiRunController {
  constructor(
    @InjectConfig() private readonly config: KilnConfig,
    private readonly runs: RunsService,
    private readonly scripts: ScriptCache,
  ) {}

  @Post('run')
  async run(@Auth() auth: AuthContext, @Body(new ZodPipe(apiRunBody)) request: ApiRunBody, @Res({ passthrough: true }) reply: FastifyReply) {
    const started = performance.now();
    const script = await this.scripts.get(auth.tenantId, request.scriptId);
    if (!script) {
      void reply.status(404);
      const { error } = apiRunEnvelope({ statusCode: 404, code: 'NOT_FOUND', message: 'Script not found' });
      return { success: false, error, executionTime: Math.round(performance.now() - started), scriptId: request.scriptId };
    }
    const eventData = { query: request.query ?? {}, body: request.body ?? {} };
    const waitMs = script.timeoutMs + SURFACE_WAIT_MARGIN_MS;
    const outcome = await this.runs.start({
      ...runCommandBase(auth),
      target: { kind: 'script', script },
      input: request.body ?? null,
      trigger: {
        type: 'api',
        surface: 'apiRun',
        apiKeyPrefix: auth.keyPrefix,
        eventData,
        // Kiln has API keys, not users: the key stands in for the user.
        requestUser: { _id: auth.apiKeyId, tenantId: auth.tenantId, tenant: auth.tenantSlug, role: auth.isAdmin ? 'admin' : 'user', scopes: [...auth.scopes] },
        handlerExtras: { eventName: 'ApiRun', apiKey: `${auth.keyPrefix}…`, scriptId: script.id },
      },
      waitMs,
      allowDraft: true,
    });
    const answer = apiRunAnswer({
      scriptId: script.id,
      executionId: outcome.executionId,
      finished: outcome.finished,
      elapsedMs: performance.now() - started,
      waitedMs: waitMs,
      exposeStack: this.config.env === 'development',
    });
    void reply.status(answer.statusCode);
    return answer.body;
  }
}

import { Body, Controller, Headers, Param, Post, Res } from '@nestjs/common';
import type { KilnConfig } from '@kiln/config';
import { KilnError } from '@kiln/core';
import { InjectConfig } from '@kiln/platform';
import type { FastifyReply } from 'fastify';
import type { AuthContext } from '../auth/auth-context';
import { Auth, PreAdmitted, RequireScopes, StartsRun } from '../auth/auth.decorators';
import type { PreAdmittedRun } from '../limits/pre-admitted-run';
import { ZodPipe } from '../http/zod-body.pipe';
import { ScriptCache } from '../scripts/script-cache';
import { ScriptsService } from '../scripts/scripts.service';
import { WebhookUrlGuard } from '../webhooks/webhook-url-guard';
import { adhocRunBody, idempotencyHeader, scriptRunBody, type AdhocRunBody, type ScriptRunBody } from './run.dto';
import { answerRun } from './run-reply';
import { RunsService } from './runs.service';

@Controller('v1')
@RequireScopes('executions.run')
export class RunsController {
  constructor(
    @InjectConfig() private readonly config: KilnConfig,
    private readonly runs: RunsService,
    private readonly cache: ScriptCache,
    private readonly scripts: ScriptsService,
    private readonly webhookUrls: WebhookUrlGuard,
  ) {}

  @Post('scripts/:id/runs')
  @StartsRun()
  async runScript(
    @Auth() auth: AuthContext,
    @PreAdmitted() preAdmitted: PreAdmittedRun | undefined,
    @Param('id') id: string,
    @Body(new ZodPipe(scriptRunBody)) body: ScriptRunBody,
    @Headers('idempotency-key') idempotencyKeyHeader: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const script = await this.cache.get(auth.tenantId, id);
    if (!script) throw KilnError.notFound('Script', id);
    await this.webhookUrls.check('webhookUrl', body.webhookUrl);
    const outcome = await this.runs.start({
      tenantId: auth.tenantId,
      apiKeyId: auth.apiKeyId,
      monthlyExecutionLimit: auth.monthlyExecutionLimit,
      target: { kind: 'script', script },
      input: body.input,
      trigger: { type: 'api', apiKeyPrefix: auth.keyPrefix },
      metadata: body.metadata,
      webhookUrl: body.webhookUrl,
      idempotencyKey: this.idempotencyKey(body.idempotencyKey, idempotencyKeyHeader),
      waitMs: this.runs.waitMsFrom(body.wait),
      allowDraft: true,
      preAdmitted,
    });
    return answerRun(reply, outcome, { publicUrl: this.config.http.publicUrl });
  }

  @Post('runs')
  @StartsRun()
  async runAdhoc(
    @Auth() auth: AuthContext,
    @PreAdmitted() preAdmitted: PreAdmittedRun | undefined,
    @Body(new ZodPipe(adhocRunBody)) body: AdhocRunBody,
    @Headers('idempotency-key') idempotencyKeyHeader: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    this.scripts.checkSource(body.source);
    await this.webhookUrls.check('webhookUrl', body.webhookUrl);
    const outcome = await this.runs.start({
      tenantId: auth.tenantId,
      apiKeyId: auth.apiKeyId,
      monthlyExecutionLimit: auth.monthlyExecutionLimit,
      target: { kind: 'adhoc', source: body.source, timeoutMs: body.timeoutMs, memoryMb: body.memoryMb },
      input: body.input,
      trigger: { type: 'api', adhoc: true, apiKeyPrefix: auth.keyPrefix },
      metadata: body.metadata,
      webhookUrl: body.webhookUrl,
      idempotencyKey: this.idempotencyKey(body.idempotencyKey, idempotencyKeyHeader),
      waitMs: this.runs.waitMsFrom(body.wait),
      preAdmitted,
    });
    return answerRun(reply, outcome, { publicUrl: this.config.http.publicUrl });
  }

  private idempotencyKey(fromBody: string | undefined, fromHeader: string | undefined): string | null {
    if (fromBody) return fromBody;
    if (fromHeader === undefined) return null;
    const parsed = idempotencyHeader.safeParse(fromHeader);
    if (!parsed.success) throw KilnError.validation([{ field: 'Idempotency-Key', message: 'must be 1-255 printable ASCII characters without spaces' }]);
    return parsed.data;
  }
}

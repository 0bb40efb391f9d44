import { Body, Controller, Get, HttpCode, Param, Post, Res } from '@nestjs/common';
import { KilnError, type ExecutionView } from '@kiln/core';
import type { FastifyReply } from 'fastify';
import type { AuthContext } from '../../auth/auth-context';
import { Auth, RequireScopes } from '../../auth/auth.decorators';
import { ExecutionControl } from '../../executions/execution-control';
import { ZodPipe } from '../../http/zod-body.pipe';
import { RequestLimits } from '../../limits/request-limits';
import { RunsService } from '../../runs/runs.service';
import { runCommandBase, SURFACE_WAIT_MARGIN_MS } from '../compat-run';
import { CODE_MEMORY_MB, executeCodeBody, validateCodeBody, type ExecuteCodeBody, type ValidateCodeBody } from './code-node.dto';
import { codeResult, validationFailure, type CodeResult } from './code-result';
import { CODE_TEMPLATES, findTemplate } from './code-templates';
import { validateCode } from './code-validation';

/**
 * The code-node API (document 004): validate and run ad-hoc code on Kiln's
 * sandbox (`POST /v1/runs` underneath), and the twelve templates.
 */
@Controller('api/ai-automation/code')
export class CodeNodeController {
  constructor(
    private readonly runs: RunsService,
    private readonly control: ExecutionControl,
    private readonly limits: RequestLimits,
  ) {}

  private readonly overSizeLimit = (code: string) => this.limits.adhocCodeProblem(code) !== null;

  @Post('validate')
  @HttpCode(200)
  @RequireScopes('scripts.read')
  validate(@Body(new ZodPipe(validateCodeBody)) body: ValidateCodeBody) {
    const check = validateCode(body.code ?? '', this.overSizeLimit);
    return check.valid ? { valid: true, error: null } : { valid: false, error: check.error };
  }

  /** 200 with the result shape whatever the code did; 400 `validation_error` when it was not run. */
  @Post('execute')
  @HttpCode(200)
  @RequireScopes('executions.run')
  async execute(@Auth() auth: AuthContext, @Body(new ZodPipe(executeCodeBody)) body: ExecuteCodeBody, @Res({ passthrough: true }) reply: FastifyReply): Promise<CodeResult> {
    const started = performance.now();
    const code = body.code ?? '';
    const check = validateCode(code, this.overSizeLimit);
    if (!check.valid) {
      void reply.status(400);
      return validationFailure(check.error);
    }
    const timeoutMs = body.timeout_ms;
    const outcome = await this.runs.start({
      ...runCommandBase(auth),
      target: { kind: 'adhoc', source: code, timeoutMs, memoryMb: CODE_MEMORY_MB },
      input: body.input ?? null,
      trigger: { type: 'api', adhoc: true, surface: 'code', apiKeyPrefix: auth.keyPrefix },
      waitMs: timeoutMs + SURFACE_WAIT_MARGIN_MS,
    });
    const view = await this.settle(auth.tenantId, outcome.executionId, outcome.finished);
    return codeResult(view, timeoutMs, performance.now() - started);
  }

  @Get('templates')
  templates() {
    return { templates: CODE_TEMPLATES.map(({ id, name, description }) => ({ id, name, description })) };
  }

  @Get('templates/:templateId')
  template(@Param('templateId') templateId: string) {
    const template = findTemplate(templateId);
    if (!template) throw new KilnError(404, 'NOT_FOUND', 'Template not found');
    return template;
  }

  /**
   * This surface answers synchronously, so nothing is left behind: a run
   * still queued after its timeout plus the margin is cancelled (and reported
   * as a timeout), and one parked by approval.request is cancelled too.
   */
  private async settle(tenantId: string, executionId: string, finished: ExecutionView | null): Promise<ExecutionView | null> {
    if (finished && finished.status !== 'pending_approval') return finished;
    const after = await this.control.cancel(tenantId, executionId).catch(() => null);
    if (finished) return finished;
    return after && after.status !== 'cancelled' ? after : null;
  }
}

import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { EXECUTION_STATUSES, KilnError, toExecutionView, type ExecutionView } from '@kiln/core';
import type { KilnConfig } from '@kiln/config';
import { ExecutionRepository } from '@kiln/db';
import { InjectConfig } from '@kiln/platform';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import type { AuthContext } from '../auth/auth-context';
import { Auth, RequireScopes } from '../auth/auth.decorators';
import { LIST_TOTAL_CAP, pageQuery } from '../http/page-query';
import { uuidParam } from '../http/uuid-param';
import { ZodPipe } from '../http/zod-body.pipe';
import { answerRun } from '../runs/run-reply';
import { ExecutionControl } from './execution-control';

const listQuery = pageQuery.extend({
  scriptId: z.uuid().optional(),
  status: z.enum(EXECUTION_STATUSES).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  hasWarnings: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
});


const commentBody = z.object({ comment: z.string().max(2000).nullable().optional() });
const retryBody = z.object({ wait: z.union([z.boolean(), z.number().int().min(0).max(900_000)]).optional() });

function summaryView(e: {
  id: string;
  scriptId: string | null;
  scriptVersion: number | null;
  status: string;
  trigger: unknown;
  error: unknown;
  attempts: number;
  retryOf: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  durationMs: number | null;
  queueWaitMs: number | null;
}) {
  return {
    id: e.id,
    scriptId: e.scriptId,
    scriptVersion: e.scriptVersion,
    status: e.status,
    trigger: e.trigger,
    error: e.error ?? null,
    attempts: e.attempts,
    retryOf: e.retryOf,
    createdAt: e.createdAt.toISOString(),
    startedAt: e.startedAt?.toISOString() ?? null,
    finishedAt: e.finishedAt?.toISOString() ?? null,
    durationMs: e.durationMs,
    queueWaitMs: e.queueWaitMs,
  };
}

@Controller('v1/executions')
export class ExecutionsController {
  constructor(
    @InjectConfig() private readonly config: KilnConfig,
    private readonly executions: ExecutionRepository,
    private readonly control: ExecutionControl,
  ) {}

  @Get()
  @RequireScopes('executions.read')
  async list(@Auth() auth: AuthContext, @Query(new ZodPipe(listQuery, 'query')) q: z.infer<typeof listQuery>) {
    const { items, total, totalExact } = await this.executions.list(
      auth.tenantId,
      { scriptId: q.scriptId, status: q.status, from: q.from ? new Date(q.from) : undefined, to: q.to ? new Date(q.to) : undefined, hasWarnings: q.hasWarnings },
      q,
      { countUpTo: LIST_TOTAL_CAP },
    );
    return { items: items.map(summaryView), total, totalExact, limit: q.limit, offset: q.offset };
  }

  @Get(':id')
  @RequireScopes('executions.read')
  async get(@Auth() auth: AuthContext, @Param('id', uuidParam('Execution')) id: string): Promise<ExecutionView> {
    const execution = await this.executions.findById(auth.tenantId, id);
    if (!execution) throw KilnError.notFound('Execution', id);
    return toExecutionView(execution);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @RequireScopes('executions.run')
  cancel(@Auth() auth: AuthContext, @Param('id', uuidParam('Execution')) id: string): Promise<ExecutionView> {
    return this.control.cancel(auth.tenantId, id);
  }

  @Post(':id/retry')
  @RequireScopes('executions.run')
  async retry(
    @Auth() auth: AuthContext,
    @Param('id', uuidParam('Execution')) id: string,
    @Body(new ZodPipe(retryBody)) body: z.infer<typeof retryBody>,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const outcome = await this.control.retry(auth, id, body.wait);
    return answerRun(reply, outcome, { publicUrl: this.config.http.publicUrl, retryOf: id });
  }

  @Post(':id/approve')
  @HttpCode(200)
  @RequireScopes('executions.run')
  approve(@Auth() auth: AuthContext, @Param('id', uuidParam('Execution')) id: string, @Body(new ZodPipe(commentBody)) body: z.infer<typeof commentBody>) {
    return this.control.approve(auth.tenantId, id, body.comment ?? null);
  }

  @Post(':id/reject')
  @HttpCode(200)
  @RequireScopes('executions.run')
  reject(@Auth() auth: AuthContext, @Param('id', uuidParam('Execution')) id: string, @Body(new ZodPipe(commentBody)) body: z.infer<typeof commentBody>) {
    return this.control.reject(auth.tenantId, id, body.comment ?? null);
  }
}


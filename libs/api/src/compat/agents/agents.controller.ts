import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { isUuid, KilnError } from '@kiln/core';
import { ExecutionRepository, type Execution } from '@kiln/db';
import type { AuthContext } from '../../auth/auth-context';
import { Auth, RequireScopes } from '../../auth/auth.decorators';
import { ExecutionControl } from '../../executions/execution-control';
import { ZodPipe } from '../../http/zod-body.pipe';
import { RunsService } from '../../runs/runs.service';
import { ScriptCache } from '../../scripts/script-cache';
import { runCommandBase } from '../compat-run';
import { agentInput, decisionBody, executeAgentBody, type DecisionBody, type ExecuteAgentBody } from './agents.dto';
import { pendingApprovalView, resultsView, statusView } from './agents.views';

const executionNotFound = () => new KilnError(404, 'NOT_FOUND', 'Execution not found');

/**
 * The public agents API (document 002) over Kiln's runs and approvals: a
 * workflow is a script (by id or name), an execution is a Kiln execution,
 * approve/reject are Kiln's. The bucket (burst 10, 1/s) and the default
 * monthly limit (1000) of this prefix come from the limits module.
 */
@Controller('api/v1/public')
export class AgentsController {
  constructor(
    private readonly runs: RunsService,
    private readonly scripts: ScriptCache,
    private readonly executions: ExecutionRepository,
    private readonly control: ExecutionControl,
  ) {}

  @Post('agents/:workflowId/execute')
  @HttpCode(202)
  @RequireScopes('executions.run')
  async execute(@Auth() auth: AuthContext, @Param('workflowId') workflowId: string, @Body(new ZodPipe(executeAgentBody)) body: ExecuteAgentBody) {
    const script = await this.scripts.get(auth.tenantId, workflowId);
    if (!script) throw new KilnError(404, 'NOT_FOUND', 'Workflow not found');
    let outcome;
    try {
      outcome = await this.runs.start({
        ...runCommandBase(auth),
        target: { kind: 'script', script },
        input: agentInput(body.input),
        trigger: { type: 'api', surface: 'agents', apiKeyPrefix: auth.keyPrefix },
        metadata: body.description !== undefined ? { description: body.description } : undefined,
        waitMs: 0,
        // A public, customer-facing surface: drafts are not published yet.
        allowDraft: false,
      });
    } catch (err) {
      if (err instanceof KilnError && err.code === 'SCRIPT_INACTIVE') throw new KilnError(403, 'WORKFLOW_INACTIVE', 'Workflow is inactive', err.details);
      throw err;
    }
    return { executionId: outcome.executionId, status: 'pending', startedAt: outcome.createdAt.toISOString(), message: 'Execution started successfully' };
  }

  @Get('executions/:id/status')
  @RequireScopes('executions.read')
  async status(@Auth() auth: AuthContext, @Param('id') id: string) {
    return statusView(await this.find(auth, id));
  }

  @Get('executions/:id/results')
  @RequireScopes('executions.read')
  async results(@Auth() auth: AuthContext, @Param('id') id: string) {
    return resultsView(await this.find(auth, id));
  }

  @Get('executions/:id/pending-approval')
  @RequireScopes('executions.read')
  async pendingApproval(@Auth() auth: AuthContext, @Param('id') id: string) {
    const execution = await this.find(auth, id);
    // Only a parked execution has approval data to review; anything else has none to show (404, as for a missing resource).
    if (execution.status !== 'pending_approval') {
      throw new KilnError(404, 'NOT_FOUND', `Execution is not pending approval (status: ${execution.status})`);
    }
    return pendingApprovalView(execution);
  }

  @Post('executions/:id/approve')
  @HttpCode(200)
  @RequireScopes('executions.run')
  async approve(@Auth() auth: AuthContext, @Param('id') id: string, @Body(new ZodPipe(decisionBody)) body: DecisionBody) {
    await this.find(auth, id);
    await this.control.approve(auth.tenantId, id.toLowerCase(), body.comment ?? null);
    return { executionId: id.toLowerCase(), status: 'approved', message: 'Execution approved and will continue' };
  }

  @Post('executions/:id/reject')
  @HttpCode(200)
  @RequireScopes('executions.run')
  async reject(@Auth() auth: AuthContext, @Param('id') id: string, @Body(new ZodPipe(decisionBody)) body: DecisionBody) {
    await this.find(auth, id);
    await this.control.reject(auth.tenantId, id.toLowerCase(), body.comment ?? null);
    return { executionId: id.toLowerCase(), status: 'rejected', message: 'Execution rejected and stopped' };
  }

  private async find(auth: AuthContext, id: string): Promise<Execution> {
    if (!isUuid(id)) throw executionNotFound();
    const execution = await this.executions.findById(auth.tenantId, id.toLowerCase());
    if (!execution) throw executionNotFound();
    return execution;
  }
}

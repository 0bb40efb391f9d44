import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
import type { KilnConfig } from '@kiln/config';
import { isUuid, KilnError } from '@kiln/core';
import { ExecutionRepository, type Execution, type ScriptWithSource } from '@kiln/db';
import { InjectConfig } from '@kiln/platform';
import type { FastifyReply } from 'fastify';
import type { AuthContext } from '../../auth/auth-context';
import { Auth, RequireScopes } from '../../auth/auth.decorators';
import { ExecutionControl } from '../../executions/execution-control';
import { ZodPipe } from '../../http/zod-body.pipe';
import { RunsService } from '../../runs/runs.service';
import { ScriptCache } from '../../scripts/script-cache';
import { ScriptsService } from '../../scripts/scripts.service';
import { runCommandBase } from '../compat-run';
import {
  flattenPgQuery,
  jsonBody,
  listExecutionsQuery,
  runScenarioBody,
  updateScenarioBody,
  type ListExecutionsQuery,
  type RunScenarioBody,
  type UpdateScenarioBody,
} from './scenarios.dto';
import { executionModules, executionStats, executionView, failedModule, listItem, nativeFilter } from './scenarios.views';

/** A scenario seen through its executions: the script when it still exists, else just its id. */
interface ScenarioRef {
  id: string;
  script: ScriptWithSource | null;
}

const scenarioNotFound = () => new KilnError(404, 'NOT_FOUND', 'Scenario not found');
const executionNotFound = () => new KilnError(404, 'NOT_FOUND', 'Execution not found');

/**
 * The scenarios execution API (document 003) over Kiln: a scenario is a
 * script (by id or name), its `data` the run's input, responsive mode a
 * wait-mode run of up to KILN_WAIT_MAX_MS (40 s). Accepts `Authorization:
 * Token <key>` besides Bearer.
 */
@Controller('scenarios')
export class ScenariosController {
  constructor(
    @InjectConfig() private readonly config: KilnConfig,
    private readonly runs: RunsService,
    private readonly scripts: ScriptCache,
    private readonly executions: ExecutionRepository,
    private readonly control: ExecutionControl,
    private readonly scriptsService: ScriptsService,
  ) {}

  /** Activate or pause (`isPaused`), as the document's on-demand example does: Kiln's script status active | paused. */
  @Patch(':scenarioId')
  @RequireScopes('scripts.write')
  async update(@Auth() auth: AuthContext, @Param('scenarioId') scenarioId: string, @Body() raw: unknown) {
    const body: UpdateScenarioBody = new ZodPipe(updateScenarioBody).transform(jsonBody(raw));
    const script = await this.scripts.get(auth.tenantId, scenarioId);
    if (!script) throw scenarioNotFound();
    const updated = await this.scriptsService.update(auth.tenantId, script.id, {
      ...(body.isPaused !== undefined ? { status: body.isPaused ? 'paused' : 'active' } : {}),
      ...(body.name !== undefined ? { name: body.name } : {}),
    });
    return { scenario: { id: updated.id, name: updated.name, isPaused: updated.status === 'paused', isActive: updated.status === 'active' } };
  }

  @Post(':scenarioId/run')
  @HttpCode(200)
  @RequireScopes('executions.run')
  async run(
    @Auth() auth: AuthContext,
    @Param('scenarioId') scenarioId: string,
    @Body(new ZodPipe(runScenarioBody)) body: RunScenarioBody,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const script = await this.scripts.get(auth.tenantId, scenarioId);
    if (!script) throw scenarioNotFound();
    const waitMs = body.responsive ? this.config.runs.waitMaxMs : 0;
    const outcome = await this.runs.start({
      ...runCommandBase(auth),
      target: { kind: 'script', script },
      input: body.data ?? {},
      trigger: { type: 'api', surface: 'scenarios', apiKeyPrefix: auth.keyPrefix },
      waitMs,
      // "The scenario has to be active": paused and draft scripts answer SCENARIO_INACTIVE.
      allowDraft: false,
    });
    if (!body.responsive) return { executionId: outcome.executionId };
    const finished = outcome.finished ? await this.executions.findById(auth.tenantId, outcome.executionId) : null;
    if (!finished || finished.status === 'pending_approval' || finished.status === 'pending' || finished.status === 'running') {
      // Document 003 / Make: past the responsive timeout the call fails with TIMEOUT, the scenario keeps running.
      const message =
        finished?.status === 'pending_approval'
          ? 'Scenario is waiting for approval (approval.request); it continues once approved'
          : `Scenario did not finish within ${Math.round(waitMs / 1000)} s; it keeps running`;
      throw new KilnError(504, 'TIMEOUT', message, {
        executionId: outcome.executionId,
        status: finished ? executionView(finished).status : 'running',
      });
    }
    if (finished.status === 'completed') {
      return { executionId: outcome.executionId, outputs: finished.output ?? null, stats: executionStats(finished) };
    }
    if (finished.status === 'cancelled') {
      void reply.status(409);
      return { error: { message: 'Scenario execution was stopped', code: 'EXECUTION_STOPPED', details: { executionId: outcome.executionId } } };
    }
    const error = (finished.error ?? {}) as { code?: string };
    const timedOut = error.code === 'TIMEOUT';
    void reply.status(timedOut ? 504 : 500);
    return {
      error: {
        message: timedOut ? 'Scenario execution exceeded its time limit' : 'Scenario execution failed',
        code: timedOut ? 'TIMEOUT' : 'EXECUTION_ERROR',
        details: { ...failedModule(finished, script.name), executionId: outcome.executionId, ...(error.code && error.code !== 'EXECUTION_ERROR' && !timedOut ? { reason: error.code } : {}) },
      },
    };
  }

  @Get(':scenarioId/executions')
  @RequireScopes('executions.read')
  async list(@Auth() auth: AuthContext, @Param('scenarioId') scenarioId: string, @Query() rawQuery: unknown) {
    const q: ListExecutionsQuery = new ZodPipe(listExecutionsQuery, 'query').transform(flattenPgQuery(rawQuery));
    const scenario = await this.scenario(auth, scenarioId);
    const page = { limit: q['pg[limit]'], offset: q['pg[offset]'] };
    const { items, total } = await this.executions.list(
      auth.tenantId,
      { scriptId: scenario.id, from: q.from ? new Date(q.from) : undefined, to: q.to ? new Date(q.to) : undefined, ...(q.status ? nativeFilter(q.status) : {}) },
      page,
    );
    const warned = await this.executions.withWarnings(
      auth.tenantId,
      items.filter((e) => e.status === 'completed').map((e) => e.id),
    );
    return { executions: items.map((e) => listItem(e, warned.has(e.id))), pg: { ...page, total } };
  }

  @Get(':scenarioId/executions/:executionId')
  @RequireScopes('executions.read')
  async get(@Auth() auth: AuthContext, @Param('scenarioId') scenarioId: string, @Param('executionId') executionId: string) {
    const { execution } = await this.execution(auth, scenarioId, executionId);
    return { execution: executionView(execution) };
  }

  @Get(':scenarioId/executions/:executionId/details')
  @RequireScopes('executions.read')
  async details(@Auth() auth: AuthContext, @Param('scenarioId') scenarioId: string, @Param('executionId') executionId: string) {
    const { scenario, execution } = await this.execution(auth, scenarioId, executionId);
    return { execution: { id: execution.id, modules: executionModules(execution, scenario.script?.name ?? null) } };
  }

  @Post(':scenarioId/executions/:executionId/stop')
  @HttpCode(200)
  @RequireScopes('executions.run')
  async stop(@Auth() auth: AuthContext, @Param('scenarioId') scenarioId: string, @Param('executionId') executionId: string) {
    const { execution } = await this.execution(auth, scenarioId, executionId);
    await this.control.cancel(auth.tenantId, execution.id);
    const after = await this.executions.findById(auth.tenantId, execution.id);
    return { execution: executionView(after ?? execution) };
  }

  @Post(':scenarioId/executions/:executionId/retry')
  @HttpCode(200)
  @RequireScopes('executions.run')
  async retry(@Auth() auth: AuthContext, @Param('scenarioId') scenarioId: string, @Param('executionId') executionId: string) {
    const { execution } = await this.execution(auth, scenarioId, executionId);
    const outcome = await this.control.retry(auth, execution.id, undefined);
    return { executionId: outcome.executionId };
  }

  /** By id or name; a deleted script's executions stay readable by its id (SPEC §3). */
  private async scenario(auth: AuthContext, scenarioId: string): Promise<ScenarioRef> {
    const script = await this.scripts.get(auth.tenantId, scenarioId);
    if (script) return { id: script.id, script };
    if (isUuid(scenarioId)) return { id: scenarioId.toLowerCase(), script: null };
    throw scenarioNotFound();
  }

  private async execution(auth: AuthContext, scenarioId: string, executionId: string): Promise<{ scenario: ScenarioRef; execution: Execution }> {
    const scenario = await this.scenario(auth, scenarioId);
    if (!isUuid(executionId)) throw executionNotFound();
    const execution = await this.executions.findById(auth.tenantId, executionId.toLowerCase());
    if (!execution || execution.scriptId !== scenario.id) throw executionNotFound();
    return { scenario, execution };
  }
}

import { Body, Controller, Delete, Get, Param, Post, Put, Query, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { KilnError, toExecutionView, type ExecutionView } from '@kiln/core';
import { ExecutionRepository, ScriptRepository, type ScriptWithSource } from '@kiln/db';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AuthContext } from '../auth/auth-context';
import { Auth, RequireScopes } from '../auth/auth.decorators';
import { RunsService } from '../runs/runs.service';
import { ScriptsService } from '../scripts/scripts.service';
import { monacoWorkers } from './console-assets';
import { ConsoleCsrfGuard } from './console-csrf.guard';
import { ConsoleExceptionFilter, sendHtml } from './console-exception.filter';
import {
  emptyFormValues,
  formErrorsFrom,
  formValuesFrom,
  formValuesFromScript,
  parseScriptForm,
  storedTriggers,
  triggerKinds,
  type FormErrors,
  type ScriptFormValues,
} from './console-form';
import { html, seg } from './console-html';
import { applySecurityHeaders, header, isHtmx } from './console-security';
import { requireSession } from './console-session';
import { executionRow, executionRows, HISTORY_ROWS, scriptForm, scriptFormPage, scriptsListPage, scriptViewPage, type ConsoleSession } from './console-views';

/** A click on Run waits this long for the end, so quick scripts show their result at once; longer ones are polled. */
export const EXECUTE_WAIT_MS = 1_500;
const PAGE_SIZE = 50;
const MAX_INPUT_CHARS = 256 * 1024;

const listQuery = z.object({ offset: z.coerce.number().int().min(0).max(10_000_000).catch(0) });

type FormBody = Record<string, unknown> | undefined;

/**
 * Document 001's HTMX endpoints over the same services as `/v1/scripts`:
 * pages for browsers, fragments for htmx (HX-Request). Reading needs
 * `scripts.read`, changing `scripts.write` (document 001's
 * `scripts.create`), running `executions.run`; the history also needs
 * `executions.read`. Another tenant's script is a 404 page.
 */
@Controller('scripts')
@UseGuards(ConsoleCsrfGuard)
@UseFilters(ConsoleExceptionFilter)
export class ConsoleScriptsController {
  constructor(
    private readonly service: ScriptsService,
    private readonly scripts: ScriptRepository,
    private readonly executions: ExecutionRepository,
    private readonly runs: RunsService,
  ) {}

  @Get()
  @RequireScopes('scripts.read')
  async list(@Auth() auth: AuthContext, @Req() request: FastifyRequest, @Query() query: unknown, @Res() reply: FastifyReply): Promise<void> {
    const { offset } = listQuery.parse(query ?? {});
    const page = await this.scripts.list(auth.tenantId, { limit: PAGE_SIZE, offset });
    sendHtml(reply, 200, scriptsListPage(requireSession(request), { ...page, limit: PAGE_SIZE, offset }));
  }

  @Get('new')
  @RequireScopes('scripts.write')
  newForm(@Req() request: FastifyRequest, @Res() reply: FastifyReply): void {
    this.renderForm(request, reply, 200, { mode: 'new', values: emptyFormValues(), errors: {} });
  }

  @Post()
  @RequireScopes('scripts.write')
  async create(@Auth() auth: AuthContext, @Req() request: FastifyRequest, @Body() body: FormBody, @Res() reply: FastifyReply): Promise<void> {
    const values = formValuesFrom(body);
    const { input, errors } = parseScriptForm(values);
    if (!input) return this.renderForm(request, reply, 400, { mode: 'new', values, errors });
    let script: ScriptWithSource;
    try {
      script = await this.service.create(auth.tenantId, input);
    } catch (err) {
      const problem = formErrorsFrom(err);
      if (!problem) throw err;
      return this.renderForm(request, reply, problem.status, { mode: 'new', values, errors: problem.errors });
    }
    this.redirect(request, reply, `/scripts/${seg(script.id)}`);
  }

  @Get(':id')
  @RequireScopes('scripts.read')
  async view(@Auth() auth: AuthContext, @Req() request: FastifyRequest, @Param('id') id: string, @Res() reply: FastifyReply): Promise<void> {
    const script = await this.service.get(auth.tenantId, id);
    const session = requireSession(request);
    const history = session.canReadExecutions ? executionRows(script.id, await this.recentExecutions(auth.tenantId, script.id)) : html``;
    sendHtml(reply, 200, scriptViewPage(session, script, history));
  }

  @Get(':id/edit')
  @RequireScopes('scripts.write')
  async editForm(@Auth() auth: AuthContext, @Req() request: FastifyRequest, @Param('id') id: string, @Res() reply: FastifyReply): Promise<void> {
    const script = await this.service.get(auth.tenantId, id);
    this.renderForm(request, reply, 200, { mode: 'edit', scriptId: script.id, values: formValuesFromScript(script), errors: {}, notice: severalTriggersNotice(script) });
  }

  @Put(':id')
  @RequireScopes('scripts.write')
  update(@Auth() auth: AuthContext, @Req() request: FastifyRequest, @Param('id') id: string, @Body() body: FormBody, @Res() reply: FastifyReply): Promise<void> {
    return this.doUpdate(auth, request, id, body, reply);
  }

  @Delete(':id')
  @RequireScopes('scripts.write')
  delete(@Auth() auth: AuthContext, @Req() request: FastifyRequest, @Param('id') id: string, @Res() reply: FastifyReply): Promise<void> {
    return this.doDelete(auth, request, id, reply);
  }

  /** Plain HTML forms can only GET and POST: `_method=PUT|DELETE` stands in for the real verb. */
  @Post(':id')
  @RequireScopes('scripts.write')
  overridden(@Auth() auth: AuthContext, @Req() request: FastifyRequest, @Param('id') id: string, @Body() body: FormBody, @Res() reply: FastifyReply): Promise<void> {
    const method = typeof body?._method === 'string' ? body._method.toUpperCase() : '';
    if (method === 'PUT') return this.doUpdate(auth, request, id, body, reply);
    if (method === 'DELETE') return this.doDelete(auth, request, id, reply);
    throw KilnError.validation([{ field: '_method', message: 'must be PUT or DELETE' }], 'POST /scripts/:id needs _method=PUT or _method=DELETE');
  }

  @Post(':id/execute')
  @RequireScopes('executions.run')
  async execute(@Auth() auth: AuthContext, @Req() request: FastifyRequest, @Param('id') id: string, @Body() body: FormBody, @Res() reply: FastifyReply): Promise<void> {
    const script = await this.service.get(auth.tenantId, id);
    const outcome = await this.runs.start({
      tenantId: auth.tenantId,
      apiKeyId: auth.apiKeyId,
      monthlyExecutionLimit: auth.monthlyExecutionLimit,
      target: { kind: 'script', script },
      input: parseInput(body?.Input),
      trigger: { type: 'manual', source: 'console', apiKeyPrefix: auth.keyPrefix },
      waitMs: isHtmx(request) ? EXECUTE_WAIT_MS : 0,
      allowDraft: true,
    });
    if (!isHtmx(request)) return this.redirect(request, reply, `/scripts/${seg(script.id)}`);
    const view = outcome.finished ?? (await this.viewOf(auth.tenantId, outcome.executionId));
    // The history refreshes itself (and starts polling) when this event fires.
    void reply.header('HX-Trigger', 'kiln-executions-changed');
    sendHtml(reply, executeStatus(view), executionRow(view));
  }

  @Get(':id/executions')
  @RequireScopes('scripts.read', 'executions.read')
  async executionsFragment(@Auth() auth: AuthContext, @Param('id') id: string, @Res() reply: FastifyReply): Promise<void> {
    const script = await this.service.get(auth.tenantId, id);
    sendHtml(reply, 200, executionRows(script.id, await this.recentExecutions(auth.tenantId, script.id)));
  }

  private async recentExecutions(tenantId: string, scriptId: string): Promise<ExecutionView[]> {
    const { items } = await this.executions.list(tenantId, { scriptId }, { limit: HISTORY_ROWS, offset: 0 }, { countUpTo: 0 });
    // The list carries no output or logs; the few rows shown are read whole.
    const rows = await Promise.all(items.map((item) => this.executions.findById(tenantId, item.id)));
    return rows.filter((row) => row !== null).map(toExecutionView);
  }

  private async viewOf(tenantId: string, executionId: string): Promise<ExecutionView> {
    const row = await this.executions.findById(tenantId, executionId);
    if (!row) throw KilnError.notFound('Execution', executionId);
    return toExecutionView(row);
  }

  private async doUpdate(auth: AuthContext, request: FastifyRequest, id: string, body: FormBody, reply: FastifyReply): Promise<void> {
    const current = await this.service.get(auth.tenantId, id);
    const values = formValuesFrom(body);
    const base = { mode: 'edit' as const, scriptId: current.id, values, notice: severalTriggersNotice(current) };
    const { input, errors } = parseScriptForm(values, storedTriggers(current));
    if (!input) return this.renderForm(request, reply, 400, { ...base, errors });
    try {
      // Only what the form shows changes: inputSchema and env stay as they are. A new source makes a new version.
      await this.service.update(auth.tenantId, current.id, input);
    } catch (err) {
      const problem = formErrorsFrom(err);
      if (!problem) throw err;
      return this.renderForm(request, reply, problem.status, { ...base, errors: problem.errors });
    }
    this.redirect(request, reply, `/scripts/${seg(current.id)}`);
  }

  private async doDelete(auth: AuthContext, request: FastifyRequest, id: string, reply: FastifyReply): Promise<void> {
    const script = await this.service.get(auth.tenantId, id);
    await this.service.delete(auth.tenantId, script.id);
    // From the list, htmx swaps the row with this empty fragment (the row is gone); from anywhere else, back to the list.
    if (isHtmx(request) && header(request, 'hx-target') === `script-${script.id}`) {
      sendHtml(reply, 200, '');
      return;
    }
    this.redirect(request, reply, '/scripts');
  }

  private renderForm(
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    options: { mode: 'new' | 'edit'; scriptId?: string; values: ScriptFormValues; errors: FormErrors; notice?: string },
  ): void {
    const session: ConsoleSession = requireSession(request);
    const form = { ...options, session, monaco: monacoWorkers() };
    // htmx replaces the form in place; a browser without JavaScript gets the whole page.
    sendHtml(reply, status, isHtmx(request) ? scriptForm(form) : scriptFormPage(form), { editor: true });
  }

  /** Document 001's "redirect": 303 for a browser form, HX-Redirect for htmx (which would otherwise follow it inside the page). */
  private redirect(request: FastifyRequest, reply: FastifyReply, location: string): void {
    applySecurityHeaders(reply);
    if (isHtmx(request)) {
      void reply.status(204).header('HX-Redirect', location).send();
      return;
    }
    void reply.status(303).header('Location', location).send('');
  }
}

function severalTriggersNotice(script: ScriptWithSource): string | undefined {
  return triggerKinds(storedTriggers(script)) > 1
    ? 'This script has several kinds of trigger (set over the API). The console edits one Type: saving keeps only the trigger of the Type chosen here.'
    : undefined;
}

/** The optional Input field of the Run form: JSON, or nothing. */
function parseInput(raw: unknown): unknown {
  if (typeof raw !== 'string' || raw.trim() === '') return undefined;
  if (raw.length > MAX_INPUT_CHARS) throw KilnError.validation([{ field: 'Input', message: `must be at most ${MAX_INPUT_CHARS} characters` }]);
  try {
    return JSON.parse(raw) as unknown;
  } catch (err) {
    throw KilnError.validation([{ field: 'Input', message: `is not valid JSON: ${(err as Error).message}` }], `Input is not valid JSON: ${(err as Error).message}`);
  }
}

/** Document 001: an execution error is a 500 (message with the execution id), a timeout a 504; a run still going is 202. */
function executeStatus(view: ExecutionView): number {
  if (view.status === 'failed') return view.error?.code === 'TIMEOUT' ? 504 : 500;
  if (view.status === 'completed' || view.status === 'cancelled') return 200;
  return 202;
}

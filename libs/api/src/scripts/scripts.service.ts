import { Injectable } from '@nestjs/common';
import type { KilnConfig } from '@kiln/config';
import { analyzeSource, checkCron, checkInputSchema, isValidEndpointPath, KilnError, normalizeEndpointPath, SecretBox } from '@kiln/core';
import { ScriptConflictError, ScriptRepository, type HttpRoute, type ScriptFields, type ScriptWithSource } from '@kiln/db';
import { InjectConfig } from '@kiln/platform';
import { ScriptCache } from './script-cache';
import { ScriptScheduler } from './script-scheduler';
import type { CreateScriptBody, TriggersInput, UpdateScriptBody } from './script.dto';

type FieldProblem = { field: string; message: string; line?: number; column?: number };

@Injectable()
export class ScriptsService {
  constructor(
    @InjectConfig() private readonly config: KilnConfig,
    private readonly scripts: ScriptRepository,
    private readonly cache: ScriptCache,
    private readonly scheduler: ScriptScheduler,
    private readonly box: SecretBox,
  ) {}

  async create(tenantId: string, body: CreateScriptBody): Promise<ScriptWithSource> {
    this.checkSource(body.source);
    const problems = [...this.checkSchema(body.inputSchema), ...this.checkTriggers(body.triggers ?? null)];
    if (problems.length > 0) throw KilnError.validation(problems);
    const triggers = normalizeTriggers(body.triggers ?? null);
    const fields: ScriptFields = {
      name: body.name,
      description: body.description ?? null,
      status: body.status,
      timeoutMs: body.timeoutMs,
      memoryMb: body.memoryMb,
      inputSchema: body.inputSchema ?? null,
      ...triggerColumns(triggers),
      envEnc: body.env ? this.box.sealJson(body.env) : null,
    };
    const script = await this.withConflicts(() => this.scripts.create(tenantId, fields, body.source, routesOf(triggers)), body.name);
    // Replicas may remember "no such script / no such HTTP route" for this tenant.
    await this.cache.invalidate(tenantId, script.id);
    await this.scheduler.sync(script);
    return script;
  }

  async update(tenantId: string, idOrName: string, body: UpdateScriptBody): Promise<ScriptWithSource> {
    if (body.source !== undefined) this.checkSource(body.source);
    const problems = [
      ...(body.inputSchema !== undefined ? this.checkSchema(body.inputSchema) : []),
      ...(body.triggers !== undefined ? this.checkTriggers(body.triggers) : []),
    ];
    if (problems.length > 0) throw KilnError.validation(problems);
    const triggers = body.triggers !== undefined ? normalizeTriggers(body.triggers) : undefined;
    const fields: Partial<ScriptFields> = {
      ...(body.name !== undefined ? { name: body.name } : {}),
      ...(body.description !== undefined ? { description: body.description } : {}),
      ...(body.status !== undefined ? { status: body.status } : {}),
      ...(body.timeoutMs !== undefined ? { timeoutMs: body.timeoutMs } : {}),
      ...(body.memoryMb !== undefined ? { memoryMb: body.memoryMb } : {}),
      ...(body.inputSchema !== undefined ? { inputSchema: body.inputSchema } : {}),
      ...(triggers !== undefined ? triggerColumns(triggers) : {}),
      ...(body.env !== undefined ? { envEnc: body.env ? this.box.sealJson(body.env) : null } : {}),
    };
    const updated = await this.withConflicts(
      () => this.scripts.update(tenantId, idOrName, fields, body.source, triggers !== undefined ? routesOf(triggers) : undefined),
      body.name,
    );
    if (!updated) throw KilnError.notFound('Script', idOrName);
    await this.cache.invalidate(tenantId, updated.id);
    await this.scheduler.sync(updated);
    return updated;
  }

  async delete(tenantId: string, idOrName: string): Promise<void> {
    const script = await this.scripts.findByIdOrName(tenantId, idOrName);
    if (!script || !(await this.scripts.delete(tenantId, script.id))) throw KilnError.notFound('Script', idOrName);
    await this.cache.invalidate(tenantId, script.id);
    await this.scheduler.remove(script.id);
  }

  async get(tenantId: string, idOrName: string): Promise<ScriptWithSource> {
    const script = await this.scripts.findByIdOrName(tenantId, idOrName);
    if (!script) throw KilnError.notFound('Script', idOrName);
    return script;
  }

  envNames(script: { envEnc: string | null }): string[] | null {
    return script.envEnc ? Object.keys(this.box.openJson<Record<string, string>>(script.envEnc)) : null;
  }

  /** 413 for oversized source, 400 with line and column for a syntax error or a NUL character. */
  checkSource(source: string): void {
    const bytes = Buffer.byteLength(source, 'utf8');
    const limit = this.config.runs.scriptSourceMaxBytes;
    if (bytes > limit) {
      throw new KilnError(413, 'SOURCE_TOO_LARGE', `source is ${bytes} bytes; the limit is ${limit} bytes (KILN_SCRIPT_SOURCE_MAX_BYTES)`, {
        field: 'source',
        limitBytes: limit,
      });
    }
    const nul = source.indexOf('\u0000');
    if (nul >= 0) {
      // PostgreSQL text cannot hold it; in a string literal, write the escape \0 or \u0000 instead.
      const before = source.slice(0, nul).split('\n');
      const line = before.length;
      const column = (before[before.length - 1]?.length ?? 0) + 1;
      throw KilnError.validation([{ field: 'source', message: `source contains a NUL character (U+0000) at line ${line}, column ${column}; write it as the escape \\0 instead`, line, column }]);
    }
    const analysis = analyzeSource(source);
    if (!analysis.valid) {
      const { message, line, column } = analysis.error;
      throw KilnError.validation([{ field: 'source', message: `${message} (line ${line}, column ${column})`, line, column }], 'Script source does not parse');
    }
  }

  private checkSchema(schema: Record<string, unknown> | null | undefined): FieldProblem[] {
    if (schema === null || schema === undefined) return [];
    const check = checkInputSchema(schema);
    return check.ok ? [] : [{ field: 'inputSchema', message: check.message }];
  }

  private checkTriggers(triggers: TriggersInput | null): FieldProblem[] {
    if (!triggers) return [];
    const problems: FieldProblem[] = [];
    if (triggers.cron) {
      const cron = checkCron(triggers.cron, triggers.timezone ?? undefined);
      if (!cron.ok) problems.push({ field: 'triggers.cron', message: cron.message });
    } else if (triggers.timezone) {
      problems.push({ field: 'triggers.timezone', message: 'is only meaningful with triggers.cron' });
    }
    if (triggers.http && !isValidEndpointPath(triggers.http.path)) {
      problems.push({ field: 'triggers.http.path', message: 'must be 1-200 characters of URL path segments (letters, digits, . _ ~ -)' });
    }
    return problems;
  }

  private async withConflicts<T>(write: () => Promise<T>, name: string | undefined): Promise<T> {
    try {
      return await write();
    } catch (err) {
      if (!(err instanceof ScriptConflictError)) throw err;
      if (err.conflict.kind === 'name') {
        throw KilnError.conflict('SCRIPT_NAME_TAKEN', `A script named '${name ?? ''}' already exists in this tenant`, { field: 'name' });
      }
      const { route } = err.conflict;
      throw KilnError.conflict('HTTP_ROUTE_TAKEN', `Another script already answers ${route.method} /${route.path}`, {
        field: 'triggers.http',
        path: route.path,
        method: route.method,
      });
    }
  }
}

function normalizeTriggers(triggers: TriggersInput | null): TriggersInput | null {
  if (!triggers) return null;
  return {
    ...(triggers.cron ? { cron: triggers.cron, ...(triggers.timezone ? { timezone: triggers.timezone } : {}) } : {}),
    ...(triggers.http
      ? { http: { path: normalizeEndpointPath(triggers.http.path), methods: [...new Set(triggers.http.methods)], requireApiKey: triggers.http.requireApiKey } }
      : {}),
    ...(triggers.events && triggers.events.length > 0 ? { events: [...new Set(triggers.events)] } : {}),
  };
}

function triggerColumns(t: TriggersInput | null): Pick<ScriptFields, 'triggers' | 'cron' | 'cronTimezone' | 'eventTypes' | 'httpRequireKey'> {
  return {
    triggers: t,
    cron: t?.cron ?? null,
    cronTimezone: t?.timezone ?? null,
    eventTypes: t?.events ?? [],
    httpRequireKey: t?.http?.requireApiKey ?? false,
  };
}

function routesOf(t: TriggersInput | null): HttpRoute[] {
  return t?.http ? t.http.methods.map((method) => ({ path: (t.http as { path: string }).path, method })) : [];
}

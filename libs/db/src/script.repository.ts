import { Injectable } from '@nestjs/common';
import { Database, isUniqueViolation } from './database';
import { Prisma, type Script, type ScriptVersion } from './generated/prisma/client';

export type { Script, ScriptVersion };

export interface HttpRoute {
  path: string;
  method: string;
}

export interface ScriptFields {
  name: string;
  description: string | null;
  status: 'draft' | 'active' | 'paused';
  timeoutMs: number;
  memoryMb: number;
  inputSchema: unknown;
  triggers: unknown;
  cron: string | null;
  cronTimezone: string | null;
  eventTypes: string[];
  httpRequireKey: boolean;
  envEnc: string | null;
}

export type ScriptWithSource = Script & { source: string };

/** Which unique rule a write broke, so the API can answer a precise 409. */
export type ScriptConflict = { kind: 'name' } | { kind: 'route'; route: HttpRoute };

export class ScriptConflictError extends Error {
  constructor(readonly conflict: ScriptConflict) {
    super(conflict.kind === 'name' ? 'script name taken' : 'http route taken');
  }
}

const json = (value: unknown): Prisma.InputJsonValue | typeof Prisma.DbNull =>
  value === null || value === undefined ? Prisma.DbNull : (value);

@Injectable()
export class ScriptRepository {
  constructor(private readonly db: Database) {}

  async create(tenantId: string, fields: ScriptFields, source: string, routes: HttpRoute[]): Promise<ScriptWithSource> {
    await this.assertNoConflict(tenantId, null, fields.name, routes);
    try {
      const script = await this.db.prisma.$transaction(async (tx) => {
        const created = await tx.script.create({
          data: {
            ...fields,
            tenantId,
            inputSchema: json(fields.inputSchema),
            triggers: json(fields.triggers),
            currentVersion: 1,
            versions: { create: { version: 1, source, tenantId } },
          },
        });
        if (routes.length > 0) {
          await tx.scriptHttpRoute.createMany({ data: routes.map((r) => ({ ...r, tenantId, scriptId: created.id })) });
        }
        return created;
      });
      return { ...script, source };
    } catch (err) {
      throw await this.explainConflict(err, tenantId, null, fields.name, routes);
    }
  }

  /**
   * Applies changes; a new source makes a new immutable version. `routes`
   * replaces the script's HTTP routes when given.
   */
  async update(
    tenantId: string,
    id: string,
    fields: Partial<ScriptFields>,
    source: string | undefined,
    routes: HttpRoute[] | undefined,
  ): Promise<ScriptWithSource | null> {
    const current = await this.findByIdOrName(tenantId, id);
    if (!current) return null;
    await this.assertNoConflict(tenantId, current.id, fields.name, routes ?? []);
    const newVersion = source !== undefined && source !== current.source ? current.currentVersion + 1 : null;
    try {
      const script = await this.db.prisma.$transaction(async (tx) => {
        if (newVersion !== null) {
          await tx.scriptVersion.create({ data: { scriptId: current.id, tenantId, version: newVersion, source: source as string } });
        }
        if (routes !== undefined) {
          await tx.scriptHttpRoute.deleteMany({ where: { scriptId: current.id } });
          if (routes.length > 0) {
            await tx.scriptHttpRoute.createMany({ data: routes.map((r) => ({ ...r, tenantId, scriptId: current.id })) });
          }
        }
        const { inputSchema, triggers, ...rest } = fields;
        return tx.script.update({
          where: { id: current.id },
          data: {
            ...rest,
            ...(inputSchema !== undefined ? { inputSchema: json(inputSchema) } : {}),
            ...(triggers !== undefined ? { triggers: json(triggers) } : {}),
            ...(newVersion !== null ? { currentVersion: newVersion } : {}),
          },
        });
      });
      return { ...script, source: newVersion !== null ? (source as string) : current.source };
    } catch (err) {
      throw await this.explainConflict(err, tenantId, current.id, fields.name, routes ?? []);
    }
  }

  async list(tenantId: string, page: { limit: number; offset: number }): Promise<{ items: Script[]; total: number }> {
    const [items, total] = await this.db.prisma.$transaction([
      this.db.prisma.script.findMany({ where: { tenantId }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: page.limit, skip: page.offset }),
      this.db.prisma.script.count({ where: { tenantId } }),
    ]);
    return { items, total };
  }

  /** By id, or by name when the value is not a UUID (SPEC §3: "id or name"). */
  async findByIdOrName(tenantId: string, idOrName: string): Promise<ScriptWithSource | null> {
    const isId = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(idOrName);
    const script = await this.db.prisma.script.findFirst({
      where: isId ? { tenantId, id: idOrName } : { tenantId, name: idOrName },
    });
    if (!script) return null;
    const version = await this.db.prisma.scriptVersion.findUnique({
      where: { scriptId_version: { scriptId: script.id, version: script.currentVersion } },
    });
    return { ...script, source: version?.source ?? '' };
  }

  async delete(tenantId: string, id: string): Promise<boolean> {
    const result = await this.db.prisma.script.deleteMany({ where: { tenantId, id } });
    return result.count > 0;
  }

  versions(tenantId: string, scriptId: string): Promise<ScriptVersion[]> {
    return this.db.prisma.scriptVersion.findMany({ where: { tenantId, scriptId }, orderBy: { version: 'desc' } });
  }

  /** The script answering `method /path` on a tenant's HTTP endpoints (path as normalizeEndpointPath stores it). */
  async findRouteScriptId(tenantId: string, path: string, method: string): Promise<string | null> {
    const route = await this.db.prisma.scriptHttpRoute.findUnique({
      where: { tenantId_path_method: { tenantId, path, method } },
      select: { scriptId: true },
    });
    return route?.scriptId ?? null;
  }

  /** Active scripts of a tenant that list `type` in `triggers.events`. */
  findActiveByEventType(tenantId: string, type: string): Promise<Script[]> {
    return this.db.prisma.script.findMany({ where: { tenantId, status: 'active', eventTypes: { has: type } }, orderBy: { createdAt: 'asc' } });
  }

  routesOf(scriptId: string): Promise<HttpRoute[]> {
    return this.db.prisma.scriptHttpRoute.findMany({ where: { scriptId }, select: { path: true, method: true } });
  }

  private async assertNoConflict(tenantId: string, selfId: string | null, name: string | undefined, routes: HttpRoute[]): Promise<void> {
    const conflict = await this.findConflict(tenantId, selfId, name, routes);
    if (conflict) throw new ScriptConflictError(conflict);
  }

  private async findConflict(tenantId: string, selfId: string | null, name: string | undefined, routes: HttpRoute[]): Promise<ScriptConflict | null> {
    if (name !== undefined) {
      const sameName = await this.db.prisma.script.findFirst({ where: { tenantId, name, ...(selfId ? { NOT: { id: selfId } } : {}) }, select: { id: true } });
      if (sameName) return { kind: 'name' };
    }
    if (routes.length > 0) {
      const taken = await this.db.prisma.scriptHttpRoute.findFirst({
        where: { tenantId, OR: routes, ...(selfId ? { NOT: { scriptId: selfId } } : {}) },
      });
      if (taken) return { kind: 'route', route: { path: taken.path, method: taken.method } };
    }
    return null;
  }

  // The pre-check above gives precise messages; this covers the race where
  // two requests pass it at once and the database's unique index decides.
  private async explainConflict(err: unknown, tenantId: string, selfId: string | null, name: string | undefined, routes: HttpRoute[]): Promise<unknown> {
    if (!isUniqueViolation(err)) return err;
    const conflict = await this.findConflict(tenantId, selfId, name, routes);
    return new ScriptConflictError(conflict ?? { kind: 'name' });
  }
}

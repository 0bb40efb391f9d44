import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Put, Query } from '@nestjs/common';
import { KilnError } from '@kiln/core';
import { ScriptRepository } from '@kiln/db';
import type { AuthContext } from '../auth/auth-context';
import { Auth, RequireScopes } from '../auth/auth.decorators';
import { pageQuery, type PageQuery } from '../http/page-query';
import { ZodPipe } from '../http/zod-body.pipe';
import { createScriptBody, updateScriptBody, type CreateScriptBody, type UpdateScriptBody } from './script.dto';
import { scriptSummaryView, scriptView, versionView } from './script-view';
import { ScriptsService } from './scripts.service';

@Controller('v1/scripts')
export class ScriptsController {
  constructor(
    private readonly service: ScriptsService,
    private readonly scripts: ScriptRepository,
  ) {}

  @Post()
  @HttpCode(201)
  @RequireScopes('scripts.write')
  async create(@Auth() auth: AuthContext, @Body(new ZodPipe(createScriptBody)) body: CreateScriptBody) {
    const script = await this.service.create(auth.tenantId, body);
    return scriptView(script, this.service.envNames(script));
  }

  @Get()
  @RequireScopes('scripts.read')
  async list(@Auth() auth: AuthContext, @Query(new ZodPipe(pageQuery, 'query')) page: PageQuery) {
    const { items, total } = await this.scripts.list(auth.tenantId, page);
    return { items: items.map(scriptSummaryView), total, limit: page.limit, offset: page.offset };
  }

  @Get(':id')
  @RequireScopes('scripts.read')
  async get(@Auth() auth: AuthContext, @Param('id') id: string) {
    const script = await this.service.get(auth.tenantId, id);
    return scriptView(script, this.service.envNames(script));
  }

  @Patch(':id')
  @RequireScopes('scripts.write')
  async patch(@Auth() auth: AuthContext, @Param('id') id: string, @Body(new ZodPipe(updateScriptBody)) body: UpdateScriptBody) {
    const script = await this.service.update(auth.tenantId, id, body);
    return scriptView(script, this.service.envNames(script));
  }

  /** PUT replaces the whole definition: fields left out return to their defaults. */
  @Put(':id')
  @RequireScopes('scripts.write')
  async put(@Auth() auth: AuthContext, @Param('id') id: string, @Body(new ZodPipe(createScriptBody)) body: CreateScriptBody) {
    const script = await this.service.update(auth.tenantId, id, {
      ...body,
      description: body.description ?? null,
      inputSchema: body.inputSchema ?? null,
      triggers: body.triggers ?? null,
      env: body.env ?? null,
    });
    return scriptView(script, this.service.envNames(script));
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireScopes('scripts.write')
  async delete(@Auth() auth: AuthContext, @Param('id') id: string): Promise<void> {
    await this.service.delete(auth.tenantId, id);
  }

  @Get(':id/versions')
  @RequireScopes('scripts.read')
  async versions(@Auth() auth: AuthContext, @Param('id') id: string) {
    const script = await this.scripts.findByIdOrName(auth.tenantId, id);
    if (!script) throw KilnError.notFound('Script', id);
    const versions = await this.scripts.versions(auth.tenantId, script.id);
    return { items: versions.map(versionView), total: versions.length };
  }
}

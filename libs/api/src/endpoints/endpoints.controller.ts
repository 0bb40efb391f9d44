import { Controller, Delete, Get, Options, Param, Patch, Post, Put, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from '../auth/auth.decorators';
import { EndpointRunner } from './endpoint-runner';

const ROUTE = 'x/:tenantSlug/*';

/**
 * `ANY /x/:tenantSlug/<path>`: public HTTP endpoints bound to scripts
 * (SPEC §7). Public at the guard: a script that wants an API key says so
 * (`triggers.http.requireApiKey`) and the runner checks it. GET also answers
 * HEAD (Fastify strips the body).
 */
@Controller()
@Public()
export class EndpointsController {
  constructor(private readonly runner: EndpointRunner) {}

  @Get(ROUTE)
  get(@Req() request: FastifyRequest, @Res() reply: FastifyReply, @Param('tenantSlug') slug: string, @Param('*') path: string) {
    return this.serve(request, reply, slug, path);
  }

  @Post(ROUTE)
  post(@Req() request: FastifyRequest, @Res() reply: FastifyReply, @Param('tenantSlug') slug: string, @Param('*') path: string) {
    return this.serve(request, reply, slug, path);
  }

  @Put(ROUTE)
  put(@Req() request: FastifyRequest, @Res() reply: FastifyReply, @Param('tenantSlug') slug: string, @Param('*') path: string) {
    return this.serve(request, reply, slug, path);
  }

  @Patch(ROUTE)
  patch(@Req() request: FastifyRequest, @Res() reply: FastifyReply, @Param('tenantSlug') slug: string, @Param('*') path: string) {
    return this.serve(request, reply, slug, path);
  }

  @Delete(ROUTE)
  delete(@Req() request: FastifyRequest, @Res() reply: FastifyReply, @Param('tenantSlug') slug: string, @Param('*') path: string) {
    return this.serve(request, reply, slug, path);
  }

  @Options(ROUTE)
  options(@Req() request: FastifyRequest, @Res() reply: FastifyReply, @Param('tenantSlug') slug: string, @Param('*') path: string) {
    return this.serve(request, reply, slug, path);
  }

  private async serve(request: FastifyRequest, reply: FastifyReply, slug: string, path: string | undefined): Promise<void> {
    const answer = await this.runner.handle(request, reply, slug, path ?? '');
    void reply.status(answer.status).headers(answer.headers);
    await reply.send(answer.body ?? undefined);
  }
}

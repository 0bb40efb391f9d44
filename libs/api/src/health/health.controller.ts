import { createHash } from 'node:crypto';
import { Controller, Get, Headers, Res } from '@nestjs/common';
import type { KilnConfig } from '@kiln/config';
import { hashesEqual, KilnError } from '@kiln/core';
import { PROMETHEUS_CONTENT_TYPE, Registry } from '@kiln/observability';
import { InjectConfig, ReadinessProbe } from '@kiln/platform';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/auth.decorators';

const digest = (value: string): string => createHash('sha256').update(value, 'utf8').digest('hex');

@Controller()
@Public()
export class HealthController {
  private readonly metricsToken: string | null;

  constructor(
    @InjectConfig() config: KilnConfig,
    private readonly readiness: ReadinessProbe,
    private readonly registry: Registry,
  ) {
    this.metricsToken = config.security.metricsToken ? digest(config.security.metricsToken) : null;
  }

  @Get('health/live')
  live() {
    return { status: 'ok' };
  }

  /** 503 until PostgreSQL and Redis both answer: load balancers keep traffic away. */
  @Get('health/ready')
  async ready(@Res({ passthrough: true }) reply: FastifyReply) {
    const report = await this.readiness.check();
    void reply.status(report.status === 'ok' ? 200 : 503);
    return report;
  }

  /** Public unless KILN_METRICS_TOKEN is set: then only `Authorization: Bearer <token>` reads it (the API port may face the internet). */
  @Get('metrics')
  async metrics(@Headers('authorization') authorization: string | undefined, @Res({ passthrough: true }) reply: FastifyReply) {
    if (this.metricsToken && !this.presentsToken(authorization)) {
      void reply.header('WWW-Authenticate', 'Bearer realm="metrics"');
      throw KilnError.unauthorized('Metrics need Authorization: Bearer <KILN_METRICS_TOKEN>');
    }
    void reply.header('Content-Type', PROMETHEUS_CONTENT_TYPE);
    return this.registry.metrics();
  }

  private presentsToken(authorization: string | undefined): boolean {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    // Digests of equal length: the comparison takes the same time whatever was sent.
    return match !== null && this.metricsToken !== null && hashesEqual(digest(match[1] as string), this.metricsToken);
  }
}

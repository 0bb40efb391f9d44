import { Controller, Get, Res } from '@nestjs/common';
import { PROMETHEUS_CONTENT_TYPE, Registry } from '@kiln/observability';
import { ReadinessProbe } from '@kiln/platform';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/auth.decorators';

@Controller()
@Public()
export class HealthController {
  constructor(
    private readonly readiness: ReadinessProbe,
    private readonly registry: Registry,
  ) {}

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

  @Get('metrics')
  async metrics(@Res({ passthrough: true }) reply: FastifyReply) {
    void reply.header('Content-Type', PROMETHEUS_CONTENT_TYPE);
    return this.registry.metrics();
  }
}

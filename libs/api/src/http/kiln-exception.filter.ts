import { type ArgumentsHost, Catch, type ExceptionFilter } from '@nestjs/common';
import type { KilnConfig } from '@kiln/config';
import type { Logger } from '@kiln/observability';
import { InjectConfig, InjectLogger } from '@kiln/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RateLimitExceeded } from '../limits/rate-limit-exceeded';
import { envelopeFor } from './error-envelopes';
import { toProblem } from './problem';

/** Every error leaves the gateway in its surface's envelope; 500s are logged, never explained. */
@Catch()
export class KilnExceptionFilter implements ExceptionFilter {
  constructor(
    @InjectConfig() private readonly config: KilnConfig,
    @InjectLogger() private readonly logger: Logger,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    sendProblem(exception, request, reply, this.config, this.logger);
  }
}

export function sendProblem(exception: unknown, request: FastifyRequest, reply: FastifyReply, config: KilnConfig, logger: Logger): void {
  // The token bucket's 429 has one body on every surface (SPEC §8), outside any envelope.
  if (exception instanceof RateLimitExceeded) {
    if (!reply.sent) void reply.status(429).header('Retry-After', String(exception.retryAfterSeconds)).send(exception.body);
    return;
  }
  const problem = toProblem(exception, { bodyLimitBytes: config.http.bodyLimitBytes });
  // A full queue is load, not a fault: it is counted (kiln_runs_refused_queue_full_total), not logged per request.
  if (problem.statusCode >= 500 && problem.code !== 'QUEUE_FULL') {
    logger.error({ err: exception, method: request.method, url: request.url.split('?')[0] }, 'request failed');
  }
  if (reply.sent) return;
  if ((problem.statusCode === 429 || problem.statusCode === 503) && problem.details && typeof problem.details.retryAfter === 'number') {
    void reply.header('Retry-After', String(problem.details.retryAfter));
  }
  void reply.status(problem.statusCode).send(envelopeFor(request.url)(problem));
}

import type { FastifyReply } from 'fastify';
import type { RunOutcome } from './runs.service';

/**
 * How a run is answered on the native API: 200 with the execution when it
 * ended within the wait, else 202 with where to poll (SPEC §4).
 */
export function answerRun(reply: FastifyReply, outcome: RunOutcome, options: { publicUrl: string | undefined; retryOf?: string }) {
  void reply.header('Location', `${options.publicUrl ?? ''}/v1/executions/${outcome.executionId}`);
  if (!outcome.created) void reply.header('Idempotent-Replayed', 'true');
  if (outcome.finished) {
    void reply.status(200);
    return outcome.finished;
  }
  void reply.status(202);
  return {
    executionId: outcome.executionId,
    status: outcome.status,
    scriptId: outcome.scriptId,
    scriptVersion: outcome.scriptVersion,
    ...(options.retryOf ? { retryOf: options.retryOf } : {}),
    createdAt: outcome.createdAt.toISOString(),
  };
}

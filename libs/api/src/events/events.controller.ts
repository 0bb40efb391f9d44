import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { uuidv7 } from '@kiln/core';
import { ScriptRepository } from '@kiln/db';
import { ExecutionQueue } from '@kiln/queue';
import { z } from 'zod';
import type { AuthContext } from '../auth/auth-context';
import { Auth, RequireScopes } from '../auth/auth.decorators';
import { ZodPipe } from '../http/zod-body.pipe';
import { RunAdmission } from '../runs/run-admission';

export const publishEventBody = z.object({
  type: z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/, 'must be 1-100 letters, digits, or _ . : -'),
  payload: z.unknown().optional(),
});
export type PublishEventBody = z.infer<typeof publishEventBody>;

export interface PublishedEvent {
  eventId: string;
  type: string;
  /** Active scripts of the tenant subscribed to the type when the event was accepted. */
  matched: number;
  scripts: { id: string; name: string }[];
}

/**
 * `POST /v1/events`: the API's way to raise an event. The fan-out (one
 * execution per subscribed active script) happens on a worker from one
 * `event.dispatch` job at depth 0, exactly as for `events.publish`.
 */
@Controller('v1/events')
export class EventsController {
  constructor(
    private readonly scripts: ScriptRepository,
    private readonly queue: ExecutionQueue,
    private readonly admission: RunAdmission,
  ) {}

  @Post()
  @HttpCode(202)
  @RequireScopes('executions.run')
  async publish(@Auth() auth: AuthContext, @Body(new ZodPipe(publishEventBody)) body: PublishEventBody): Promise<PublishedEvent> {
    const subscribers = await this.scripts.findActiveByEventType(auth.tenantId, body.type);
    const eventId = uuidv7();
    if (subscribers.length > 0) {
      // One admission per event (monthly limit of the key), however many scripts it starts.
      await this.admission.admit({ tenantId: auth.tenantId, apiKeyId: auth.apiKeyId, monthlyExecutionLimit: auth.monthlyExecutionLimit });
      await this.queue.enqueueEvent({
        tenantId: auth.tenantId,
        type: body.type,
        payload: body.payload ?? null,
        depth: 0,
        sourceExecutionId: null,
        apiKeyId: auth.apiKeyId,
        eventId,
      });
    }
    return { eventId, type: body.type, matched: subscribers.length, scripts: subscribers.map((s) => ({ id: s.id, name: s.name })) };
  }
}

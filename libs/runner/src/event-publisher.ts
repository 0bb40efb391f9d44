import { Injectable } from '@nestjs/common';
import type { KilnConfig } from '@kiln/config';
import { uuidv7 } from '@kiln/core';
import type { ClaimedExecution } from '@kiln/db';
import { InjectConfig } from '@kiln/platform';
import { ExecutionQueue } from '@kiln/queue';
import { HostCallError } from './host-call-error';

/** The same rule as `triggers.events` entries (libs/api scripts dto). */
export const EVENT_TYPE = /^[A-Za-z0-9_.:-]{1,100}$/;

export interface PublishResult {
  published: true;
  type: string;
  depth: number;
}

/**
 * `events.publish(type, payload)`: one `event.dispatch` job, one level deeper
 * than the publishing execution. The depth limit stops a script that reacts
 * to its own event (directly or through others) from looping for ever.
 */
@Injectable()
export class EventPublisher {
  constructor(
    @InjectConfig() private readonly config: KilnConfig,
    private readonly queue: ExecutionQueue,
  ) {}

  async publish(execution: Pick<ClaimedExecution, 'id' | 'tenantId' | 'apiKeyId' | 'chainDepth'>, args: unknown[]): Promise<PublishResult> {
    const [type, payload] = args;
    if (typeof type !== 'string' || !EVENT_TYPE.test(type)) {
      throw new HostCallError('events.publish: the type must be 1-100 letters, digits, or _ . : -');
    }
    const max = this.config.runs.eventMaxDepth;
    const depth = execution.chainDepth + 1;
    if (depth > max) {
      throw new HostCallError(
        `events.publish('${type}') refused: the event chain would be ${depth} levels deep, over the limit of ${max} (KILN_EVENT_MAX_DEPTH). Does a script react to an event it publishes?`,
      );
    }
    const json = JSON.stringify(payload === undefined ? null : payload);
    const limit = this.config.runs.outputMaxBytes;
    if (Buffer.byteLength(json, 'utf8') > limit) {
      throw new HostCallError(`events.publish: the payload is over ${limit} bytes as JSON (KILN_OUTPUT_MAX_BYTES)`);
    }
    await this.queue.enqueueEvent({
      tenantId: execution.tenantId,
      type,
      payload: payload === undefined ? null : payload,
      depth,
      sourceExecutionId: execution.id,
      apiKeyId: execution.apiKeyId,
      eventId: uuidv7(),
    });
    return { published: true, type, depth };
  }
}

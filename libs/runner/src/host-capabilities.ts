import { Injectable } from '@nestjs/common';
import type { ClaimedExecution } from '@kiln/db';
import type { Logger } from '@kiln/observability';
import { InjectLogger } from '@kiln/platform';
import { EventPublisher } from './event-publisher';
import { HostCallError } from './host-call-error';
import { ScriptCacheStore } from './script-cache-store';
import { ScriptOutbound } from './script-outbound';

export type HostCall = (op: string, args: unknown[]) => Promise<unknown>;

/**
 * What a script may ask of the outside world (fetch, sdk.http, sdk.cache,
 * events). Runs in the worker, never in the sandbox child: the child holds
 * no credentials and no connections. Arguments arrive as parsed JSON from
 * the isolate and are validated here; the answer goes back as JSON. Every
 * refusal is a HostCallError whose message the script sees; anything else
 * is logged and reaches the script as "internal error", never as a host
 * stack or message.
 */
@Injectable()
export class HostCapabilities {
  constructor(
    @InjectLogger() private readonly logger: Logger,
    private readonly outbound: ScriptOutbound,
    private readonly cache: ScriptCacheStore,
    private readonly events: EventPublisher,
  ) {}

  forExecution(execution: ClaimedExecution): HostCall {
    const http = this.outbound.session(execution);
    const dispatch = (op: string, args: unknown[]): Promise<unknown> => {
      switch (op) {
        case 'fetch':
          return http.fetch(args);
        case 'http.request':
          return http.httpRequest(args);
        case 'cache.get':
        case 'cache.set':
        case 'cache.delete':
        case 'cache.exists':
        case 'cache.increment':
          return this.cache.call(execution, op, args);
        case 'events.publish':
          return this.events.publish(execution, args);
        default:
          return Promise.reject(new HostCallError(`${op} is not available in this sandbox`));
      }
    };
    return async (op, args) => {
      try {
        return await dispatch(op, args);
      } catch (err) {
        if (err instanceof HostCallError) throw err;
        this.logger.error({ err, op, executionId: execution.id, tenantId: execution.tenantId }, 'host capability failed');
        throw new HostCallError(`${op} failed: internal error`);
      }
    };
  }
}

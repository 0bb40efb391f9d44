import { Injectable } from '@nestjs/common';
import type { ClaimedExecution } from '@kiln/db';

export type HostCall = (op: string, args: unknown[]) => Promise<unknown>;

/**
 * What a script may ask of the outside world (fetch, sdk.http, sdk.cache,
 * events). Runs in the worker, never in the sandbox child: the child holds
 * no credentials and no connections.
 */
@Injectable()
export class HostCapabilities {
  forExecution(_execution: ClaimedExecution): HostCall {
    return (op: string) => Promise.reject(new Error(`${op} is not available in this sandbox`));
  }
}

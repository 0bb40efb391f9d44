import type { HostCall } from '../sandbox.types';

/** Host operations that leave the machine; they share the per-run request budget. */
const OUTBOUND_OPS: ReadonlySet<string> = new Set(['fetch', 'http.request']);

export interface HostReply {
  ok: boolean;
  /** JSON of the value when ok, else the error message. */
  payload: string;
}

function failure(message: string): HostReply {
  return { ok: false, payload: message };
}

/**
 * The parent-side gate in front of a run's host capabilities: it counts
 * outbound requests (the child cannot be trusted to), and turns whatever the
 * host does into a JSON reply that never throws.
 */
export class HostGate {
  private requests = 0;

  constructor(
    private readonly host: HostCall | undefined,
    private readonly maxRequests: number,
  ) {}

  get requestCount(): number {
    return this.requests;
  }

  async call(op: string, argsJson: string): Promise<HostReply> {
    if (OUTBOUND_OPS.has(op)) {
      if (this.requests >= this.maxRequests) return failure(`Outbound request limit reached (${this.maxRequests} per execution)`);
      this.requests += 1;
    }
    if (this.host === undefined) return failure(`${op} is not available: no host capabilities were given to this run`);
    let args: unknown;
    try {
      args = JSON.parse(argsJson);
    } catch {
      return failure(`${op}: malformed arguments`);
    }
    if (!Array.isArray(args)) return failure(`${op}: malformed arguments`);
    try {
      const value = await this.host(op, args);
      return { ok: true, payload: JSON.stringify(value === undefined ? null : value) ?? 'null' };
    } catch (error) {
      return failure(error instanceof Error ? error.message : String(error));
    }
  }
}

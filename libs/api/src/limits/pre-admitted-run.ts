import type { KilnError } from '@kiln/core';
import type { QuotaTicket } from './execution-quotas';

/**
 * A run request's quota verdict, reached by the API key guard in the same
 * Redis round trip as the request's rate-limit token (RateLimiter), before
 * the body is even validated. RunsService takes it at the point where it
 * would otherwise ask ExecutionQuotas, so callers see the same answers in
 * the same order (400/404/409 and 503 QUEUE_FULL before a quota refusal).
 * A request that ends without taking it un-counts its run (settle), so only
 * accepted runs stay counted.
 */
export class PreAdmittedRun {
  private state: 'open' | 'taken' | 'settled' = 'open';

  constructor(private readonly verdict: { ticket: QuotaTicket } | { refusal: KilnError }) {}

  /**
   * The ticket, or the refusal thrown. Null once settled (the count was
   * given back, e.g. the client went away first): decide afresh then.
   */
  take(): QuotaTicket | null {
    if (this.state !== 'open') return null;
    this.state = 'taken';
    if ('refusal' in this.verdict) throw this.verdict.refusal;
    return this.verdict.ticket;
  }

  /** Called when the request has ended: refunds a counted run nobody took. */
  async settle(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'settled';
    if ('ticket' in this.verdict) await this.verdict.ticket.refund();
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    kilnPreAdmittedRun?: PreAdmittedRun;
  }
}

import { Counter, Histogram, type Registry } from '@kiln/observability';

/** Prometheus series of the notifier: attempts by result, their latency, and breaker deferrals. */
export class DeliveryMetrics {
  private readonly attempts: Counter<'status' | 'outcome'>;
  private readonly latency: Histogram<'outcome'>;
  private readonly deferrals: Counter;
  private readonly relayed: Counter;

  constructor(registry: Registry) {
    this.attempts = new Counter({
      name: 'kiln_webhook_attempts_total',
      help: 'Webhook attempts, by the delivery status they left (pending = retry scheduled) and the classified outcome',
      labelNames: ['status', 'outcome'],
      registers: [registry],
    });
    this.latency = new Histogram({
      name: 'kiln_webhook_attempt_duration_seconds',
      help: 'Time from sending a webhook attempt to its answer (or error)',
      labelNames: ['outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    this.deferrals = new Counter({
      name: 'kiln_webhook_deferred_total',
      help: 'Webhook attempts moved, uncounted, because the destination circuit breaker was open',
      registers: [registry],
    });
    this.relayed = new Counter({
      name: 'kiln_webhook_relayed_total',
      help: 'Outbox rows enqueued by the relay (their enqueue after commit was lost, or their job went missing)',
      registers: [registry],
    });
  }

  attempt(status: string, outcome: string, latencyMs: number): void {
    this.attempts.inc({ status, outcome });
    this.latency.observe({ outcome }, latencyMs / 1000);
  }

  deferred(): void {
    this.deferrals.inc();
  }

  relay(count: number): void {
    this.relayed.inc(count);
  }
}

import { Module } from '@nestjs/common';
import type { KilnConfig } from '@kiln/config';
import { SecretBox } from '@kiln/core';
import { WebhookDeliveryRepository } from '@kiln/db';
import { type Logger, Registry } from '@kiln/observability';
import { OutboundError, OutboundClient, parseAllowList } from '@kiln/outbound';
import { KILN_CONFIG, LOGGER } from '@kiln/platform';
import { WebhookQueue } from '@kiln/queue';
import { DEFAULT_MAX_OUTPUT_BYTES, parseRetrySchedule, WEBHOOK_USER_AGENT } from '@kiln/webhooks';
import { DeliveryMetrics } from './delivery-metrics';
import { WEBHOOK_OUTBOUND_CLIENT } from './delivery.tokens';
import { DEFAULT_BREAKER_SETTINGS, HostBreakers, HostFailure } from './host-breakers';
import { WebhookDeliveryService } from './webhook-delivery.service';
import { WebhookRelay } from './webhook-relay';
import { WebhookWorker } from './webhook-worker';

// A receiver's answer body is only kept as a snippet; no need to read megabytes.
const MAX_RESPONSE_BYTES = 64 * 1024;
// Overdue this long with nothing touching the row: its job is presumed lost.
const STUCK_AFTER_MS = 2 * 60_000;

/** Counts against a destination's breaker: it answered 5xx/429, timed out, or refused the connection. */
export function isHostFailure(error: unknown): boolean {
  if (error instanceof HostFailure) return true;
  return error instanceof OutboundError && (error.code === 'TIMEOUT' || error.code === 'CONNECTION_FAILED');
}

/** The notifier's job: consume `webhooks` and relay the outbox. Expects PlatformModule in the root module. */
@Module({
  providers: [
    {
      provide: WEBHOOK_OUTBOUND_CLIENT,
      inject: [KILN_CONFIG],
      useFactory: (config: KilnConfig) =>
        new OutboundClient({
          allow: parseAllowList(config.runs.outboundAllow),
          defaultTimeoutMs: config.notifier.timeoutMs,
          maxResponseBytes: MAX_RESPONSE_BYTES,
          maxRedirects: 0,
          userAgent: WEBHOOK_USER_AGENT,
        }),
    },
    { provide: DeliveryMetrics, inject: [Registry], useFactory: (registry: Registry) => new DeliveryMetrics(registry) },
    {
      provide: HostBreakers,
      inject: [KILN_CONFIG],
      useFactory: (config: KilnConfig) =>
        new HostBreakers(
          { ...DEFAULT_BREAKER_SETTINGS, resetTimeoutMs: config.notifier.breakerResetMs, volumeThreshold: config.notifier.breakerVolumeThreshold },
          isHostFailure,
        ),
    },
    {
      provide: WebhookDeliveryService,
      inject: [KILN_CONFIG, LOGGER, WebhookDeliveryRepository, WebhookQueue, WEBHOOK_OUTBOUND_CLIENT, HostBreakers, SecretBox, DeliveryMetrics],
      useFactory: (
        config: KilnConfig,
        logger: Logger,
        deliveries: WebhookDeliveryRepository,
        queue: WebhookQueue,
        client: OutboundClient,
        breakers: HostBreakers,
        box: SecretBox,
        metrics: DeliveryMetrics,
      ) =>
        new WebhookDeliveryService({
          deliveries,
          queue,
          client,
          breakers,
          box,
          logger,
          metrics,
          settings: {
            retrySchedule: parseRetrySchedule(config.notifier.retrySchedule),
            timeoutMs: config.notifier.timeoutMs,
            maxOutputBytes: DEFAULT_MAX_OUTPUT_BYTES,
            publicUrl: (config.http.publicUrl ?? '').replace(/\/+$/, ''),
          },
        }),
    },
    {
      provide: WebhookRelay,
      inject: [KILN_CONFIG, LOGGER, WebhookDeliveryRepository, WebhookQueue, DeliveryMetrics],
      useFactory: (config: KilnConfig, logger: Logger, deliveries: WebhookDeliveryRepository, queue: WebhookQueue, metrics: DeliveryMetrics) =>
        new WebhookRelay(
          deliveries,
          queue,
          {
            lostAfterMs: config.notifier.relayAfterMs,
            stuckAfterMs: Math.max(STUCK_AFTER_MS, config.notifier.relayAfterMs * 2),
            intervalMs: Math.max(100, Math.min(2_000, Math.floor(config.notifier.relayAfterMs / 2))),
            batchSize: 500,
          },
          logger,
          metrics,
        ),
    },
    WebhookWorker,
  ],
})
export class DeliveryModule {}

import { Module } from '@nestjs/common';
import { WebhookWorker } from './webhook-worker';

/** The notifier's job: consume `webhooks`. Expects PlatformModule in the root module. */
@Module({ providers: [WebhookWorker] })
export class DeliveryModule {}

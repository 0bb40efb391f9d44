export { DeliveryModule } from './delivery.module';
export { buildDeliveryRequest, type DeliveryRequest, type DeliveryRequestInput } from './delivery-request';
export { BreakerOpenError, DEFAULT_BREAKER_SETTINGS, HostBreakers, HostFailure, type BreakerSettings } from './host-breakers';
export { WebhookDeliveryService, type DeliveryResult, type DeliverySettings, type WebhookDeliveryDeps } from './webhook-delivery.service';
export { WebhookRelay, type RelaySettings } from './webhook-relay';

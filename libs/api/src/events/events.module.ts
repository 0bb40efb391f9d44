import { Module } from '@nestjs/common';
import { ApiCoreModule } from '../api-core.module';
import { documentOperations } from '../docs/openapi-document';
import { EventsController, publishEventBody } from './events.controller';

documentOperations({
  method: 'post',
  path: '/v1/events',
  summary: 'Raise an event: every active script of the tenant subscribed to its type starts (triggers.events)',
  tag: 'events',
  scopes: ['executions.run'],
  body: publishEventBody,
  responses: {
    '202': '{eventId, type, matched, scripts:[{id,name}]}: accepted; the executions start on a worker',
    '400': 'Validation error (per-field details)',
  },
});

/** `POST /v1/events`. */
@Module({
  imports: [ApiCoreModule],
  controllers: [EventsController],
})
export class EventsModule {}

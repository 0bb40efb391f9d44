export {
  JobName,
  QueueName,
  cronTickPayload,
  eventDispatchPayload,
  executionBatchPayload,
  executionRunPayload,
  MAX_RUNS_PER_BATCH,
  scriptVersionRef,
  scriptVersionRefOf,
  webhookDeliverPayload,
  type CronTickPayload,
  type EventDispatchPayload,
  type ExecutionBatchPayload,
  type ExecutionCancelMessage,
  type ExecutionDoneMessage,
  type ExecutionRunPayload,
  type ScriptVersionRef,
  type WebhookDeliverPayload,
} from './contracts';
export { ExecutionQueue, cronSchedulerId, type ExecutionQueueOptions } from './execution-queue';
export { ExecutionSignals, type DoneSignal } from './execution-signals';
export { createRedis, waitForRedis, type RedisRole } from './redis-connection';
export { InvalidationBus, type InvalidationMessage } from './invalidation-bus';
export { WebhookQueue, type ScheduledDelivery, type WebhookQueueOptions } from './webhook-queue';
export { LuaScript } from './lua-script';
export { CommandCoalescer } from './command-coalescer';
export { ClusterLock } from './cluster-lock';
export { closeWorkerWithin } from './close-worker';
export { PromptWorker } from './prompt-worker';

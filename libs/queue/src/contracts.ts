import { z } from 'zod';

// The single source of truth for queue names, job names and payloads.
// Producers and consumers both import it; payloads carry ids only, the
// data itself lives in PostgreSQL (and secrets never enter Redis).

export const QueueName = {
  Executions: 'executions',
  Webhooks: 'webhooks',
} as const;

export const JobName = {
  ExecutionRun: 'execution.run',
  /** Several new runs accepted together by a gateway: one job, so the queue costs one job's commands for all of them. */
  ExecutionBatch: 'execution.batch',
  CronTick: 'cron.tick',
  EventDispatch: 'event.dispatch',
  WebhookDeliver: 'webhook.deliver',
} as const;

/**
 * The script version a run is of (ids only, like the rest): a worker that
 * holds that version's source claims the run without reading it again.
 * Optional: without it the claim reads the source, as it always may.
 */
export const scriptVersionRef = z.object({ id: z.string().uuid(), version: z.number().int().positive() });
export type ScriptVersionRef = z.infer<typeof scriptVersionRef>;

/** A run's ScriptVersionRef from its row's columns; null for an ad-hoc run. */
export function scriptVersionRefOf(scriptId: string | null, version: number | null): ScriptVersionRef | null {
  return scriptId && version !== null ? { id: scriptId, version } : null;
}

export const executionRunPayload = z.object({
  executionId: z.string().uuid(),
  // Lets the worker's per-tenant concurrency gate act before the claim;
  // optional so jobs from older producers still run (the gate reads it then).
  tenantId: z.string().uuid().optional(),
  script: scriptVersionRef.optional(),
});
export type ExecutionRunPayload = z.infer<typeof executionRunPayload>;

/** Runs per `execution.batch` job at most: bounds what one worker takes from the queue in one go. */
export const MAX_RUNS_PER_BATCH = 16;

export const executionBatchPayload = z.object({
  runs: z
    .array(z.object({ executionId: z.string().uuid(), tenantId: z.string().uuid(), script: scriptVersionRef.optional() }))
    .min(1)
    .max(MAX_RUNS_PER_BATCH),
});
export type ExecutionBatchPayload = z.infer<typeof executionBatchPayload>;

export const cronTickPayload = z.object({
  scriptId: z.string().uuid(),
  tenantId: z.string().uuid(),
  cron: z.string(),
  timezone: z.string().nullable().optional(),
});
export type CronTickPayload = z.infer<typeof cronTickPayload>;

export const eventDispatchPayload = z.object({
  tenantId: z.string().uuid(),
  type: z.string(),
  payload: z.unknown(),
  depth: z.number().int().min(0),
  sourceExecutionId: z.string().uuid().nullable(),
  /** Who caused the event (the API key of POST /v1/events, or of the publishing execution). */
  apiKeyId: z.string().uuid().nullable().optional(),
  /** Set by POST /v1/events: the job id, so a replayed dispatch starts nothing twice. */
  eventId: z.string().uuid().optional(),
});
export type EventDispatchPayload = z.infer<typeof eventDispatchPayload>;

export const webhookDeliverPayload = z.object({
  deliveryId: z.string().uuid(),
  // Attempts the delivery had when this job was scheduled; a job that finds
  // another count is a stale copy and sends nothing. Absent = 0.
  attempt: z.number().int().min(0).optional(),
});
export type WebhookDeliverPayload = z.infer<typeof webhookDeliverPayload>;

/** Messages on the Redis pub/sub channels (see ExecutionSignals). */
export interface ExecutionDoneMessage {
  executionId: string;
  status: string;
  /** The finished execution as the API shows it, when small enough to ship. */
  view?: unknown;
}

export interface ExecutionCancelMessage {
  executionId: string;
}

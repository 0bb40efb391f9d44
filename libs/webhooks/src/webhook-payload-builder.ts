import { type JsonValue } from './json-value-types';
import { type WebhookEvent } from './webhook-event-types';

/** Outputs above this (serialized, UTF-8) travel as a link instead of inline. */
export const DEFAULT_MAX_OUTPUT_BYTES = 256 * 1024;

/** A moment as the caller holds it: a Date from Prisma or an ISO string. */
export type WebhookInstant = Date | string;

// `output` and `error` are mutually exclusive (SPEC §6 "output | error"); the
// union makes passing both a compile error instead of a silent choice.
type OutcomeInput =
  | { output: JsonValue; error?: undefined }
  | { error: JsonValue; output?: undefined }
  | { output?: undefined; error?: undefined };

export type WebhookPayloadDataInput = {
  /** Execution status at the time of the event (pending, running, completed, ...). */
  status: string;
  startedAt: WebhookInstant | null;
  completedAt: WebhookInstant | null;
} & OutcomeInput;

export interface BuildWebhookPayloadInput {
  event: WebhookEvent;
  executionId: string;
  /** Null for ad-hoc runs (POST /v1/runs), which have no stored script. */
  scriptId: string | null;
  /** When the event happened (not when an attempt is sent). */
  timestamp: WebhookInstant;
  data: WebhookPayloadDataInput;
  /** Where the full execution can be fetched; becomes `outputUrl` when the output is too large. */
  executionUrl?: string;
  maxOutputBytes?: number;
}

export interface WebhookPayloadData {
  status: string;
  startedAt: string | null;
  completedAt: string | null;
  output?: JsonValue;
  /** Present (true) only when `output` was replaced by null for size. */
  outputTruncated?: true;
  outputUrl?: string;
  error?: JsonValue;
}

/** The SPEC §6 body. `workflowId` repeats `scriptId` for the seed document's subscribers. */
export interface WebhookPayload {
  event: WebhookEvent;
  executionId: string;
  scriptId: string | null;
  workflowId: string | null;
  timestamp: string;
  data: WebhookPayloadData;
}

export function buildWebhookPayload(input: BuildWebhookPayloadInput): WebhookPayload {
  const maxOutputBytes = input.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  if (!Number.isSafeInteger(maxOutputBytes) || maxOutputBytes < 0) {
    throw new RangeError(`maxOutputBytes must be a non-negative integer (got ${String(maxOutputBytes)})`);
  }
  const { data } = input;
  const out: WebhookPayloadData = {
    status: data.status,
    startedAt: toIsoOrNull(data.startedAt),
    completedAt: toIsoOrNull(data.completedAt),
  };
  if (data.output !== undefined) {
    if (Buffer.byteLength(JSON.stringify(data.output), 'utf8') > maxOutputBytes) {
      out.output = null;
      out.outputTruncated = true;
      if (input.executionUrl !== undefined) out.outputUrl = input.executionUrl;
    } else {
      out.output = data.output;
    }
  }
  if (data.error !== undefined) out.error = data.error;

  return {
    event: input.event,
    executionId: input.executionId,
    scriptId: input.scriptId,
    workflowId: input.scriptId,
    timestamp: toIso(input.timestamp),
    data: out,
  };
}

/**
 * The exact bytes that are signed and sent. Keys are re-emitted in the SPEC
 * order rather than trusting the object's own order, because a payload read
 * back from PostgreSQL jsonb comes with its keys reordered.
 */
export function serializePayload(payload: WebhookPayload): string {
  const { data } = payload;
  const orderedData: WebhookPayloadData = {
    status: data.status,
    startedAt: data.startedAt,
    completedAt: data.completedAt,
  };
  if (data.output !== undefined) orderedData.output = data.output;
  if (data.outputTruncated !== undefined) orderedData.outputTruncated = data.outputTruncated;
  if (data.outputUrl !== undefined) orderedData.outputUrl = data.outputUrl;
  if (data.error !== undefined) orderedData.error = data.error;
  const ordered: WebhookPayload = {
    event: payload.event,
    executionId: payload.executionId,
    scriptId: payload.scriptId,
    workflowId: payload.workflowId,
    timestamp: payload.timestamp,
    data: orderedData,
  };
  return JSON.stringify(ordered);
}

function toIso(value: WebhookInstant): string {
  return typeof value === 'string' ? value : value.toISOString();
}

function toIsoOrNull(value: WebhookInstant | null): string | null {
  return value === null ? null : toIso(value);
}

import {
  buildWebhookHeaders,
  buildWebhookPayload,
  isValidWebhookSecret,
  isWebhookEvent,
  serializePayload,
  signLegacy,
  WEBHOOK_USER_AGENT,
  type JsonValue,
  type WebhookPayloadDataInput,
} from '@kiln/webhooks';

/** The outbox row's payload as written by PostgreSQL (see libs/db webhook-outbox.ts). */
interface StoredPayload {
  event: string;
  executionId: string;
  scriptId: string | null;
  timestamp: string;
  data: {
    status: string;
    startedAt: string | null;
    completedAt: string | null;
    output?: JsonValue;
    outputDeferred?: boolean;
    error?: JsonValue;
  };
}

export interface DeliveryRequestInput {
  payload: unknown;
  /** The execution's output when the row deferred it for size. */
  deferredOutput: unknown;
  messageId: string;
  /** null: no secret is known for this destination; the request goes unsigned. */
  secret: string | null;
  /** When this attempt is sent; signed into the Standard Webhooks headers. */
  now: Date;
  maxOutputBytes: number;
  /** Where a subscriber fetches the whole execution (becomes `outputUrl` for large outputs). */
  executionUrl: string;
}

export interface DeliveryRequest {
  body: string;
  headers: Record<string, string>;
}

/**
 * The exact bytes and headers of one attempt. The body is re-rendered from
 * the stored snapshot on every attempt (same bytes each time); the
 * timestamps and signatures are those of the attempt.
 *
 * A `whsec_` secret gets both schemes. A free-form secret (API-key webhooks
 * accept the seed document's "your-webhook-secret-key") cannot key the
 * Standard Webhooks signature, so those requests carry the `sha256=` scheme
 * plus `webhook-id`/`webhook-timestamp` for de-duplication, and no
 * `webhook-signature` rather than a wrong one.
 */
export function buildDeliveryRequest(input: DeliveryRequestInput): DeliveryRequest {
  const stored = input.payload as StoredPayload;
  if (!isWebhookEvent(stored.event)) throw new Error(`outbox row has an unknown event '${String(stored.event)}'`);
  const { data } = stored;
  const base = { status: data.status, startedAt: data.startedAt, completedAt: data.completedAt };
  let dataInput: WebhookPayloadDataInput;
  if (data.outputDeferred === true) dataInput = { ...base, output: (input.deferredOutput ?? null) as JsonValue };
  else if (data.output !== undefined) dataInput = { ...base, output: data.output };
  else if (data.error !== undefined) dataInput = { ...base, error: data.error };
  else dataInput = base;

  const body = serializePayload(
    buildWebhookPayload({
      event: stored.event,
      executionId: stored.executionId,
      scriptId: stored.scriptId,
      timestamp: stored.timestamp,
      data: dataInput,
      executionUrl: input.executionUrl,
      maxOutputBytes: input.maxOutputBytes,
    }),
  );

  const { secret } = input;
  if (secret !== null && isValidWebhookSecret(secret)) {
    const headers = buildWebhookHeaders({
      secret,
      event: stored.event,
      executionId: stored.executionId,
      messageId: input.messageId,
      timestamp: input.now,
      rawBody: body,
    });
    return { body, headers };
  }
  const seconds = String(Math.floor(input.now.getTime() / 1000));
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'User-Agent': WEBHOOK_USER_AGENT,
    'X-Webhook-Event': stored.event,
    'X-Webhook-Execution-Id': stored.executionId,
    'X-Webhook-Timestamp': seconds,
    'webhook-id': input.messageId,
    'webhook-timestamp': seconds,
  };
  if (secret !== null && secret !== '') headers['X-Webhook-Signature'] = signLegacy(secret, body);
  return { body, headers };
}

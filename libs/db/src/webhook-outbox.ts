import { createHash } from 'node:crypto';
import type { QueryConfig } from 'pg';

/**
 * The webhook outbox, written by the very statement that changes an
 * execution's status.
 *
 * Each status change in ExecutionRepository is one UPDATE in a CTE named
 * `upd` that returns the row after the change plus a `webhook_event` column
 * (the event this change emits, or NULL). The CTE below turns that row into
 * one `webhook_deliveries` row per matching target:
 *
 *  - every active subscription of the tenant that lists the event and is
 *    either unscoped or scoped to the execution's script;
 *  - the webhook of the API key that started the run (SPEC §2), when it has
 *    one and lists the event (an empty list means every event);
 *  - the run's own `webhookUrl` (every event, signed with the tenant's
 *    default secret).
 *
 * Because the rows are inserted in the same statement as the status change,
 * they commit or roll back together: no event without its change, no change
 * without its events. When nothing matches, the INSERT inserts nothing and
 * the statement count of the hot path is unchanged. The matching runs in
 * PostgreSQL rather than against an in-memory copy of the subscriptions, so
 * a subscription is honoured from the moment its INSERT commits, on every
 * worker and gateway, with no invalidation window.
 *
 * Secrets never enter the row: the notifier resolves them at send time from
 * `source` (subscription, API key, or tenant).
 */

/**
 * Outputs whose jsonb text is longer than this are not copied into the
 * outbox row; the notifier reads them from the execution when it renders the
 * payload and applies the exact 256 KiB rule of @kiln/webhooks there. jsonb's
 * text is never shorter than JSON.stringify's, so everything that could be
 * inlined under that rule is either copied here or read back there.
 */
export const OUTBOX_INLINE_OUTPUT_BYTES = 256 * 1024;

const iso = (expr: string) => `to_char((${expr}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * The SPEC §6 payload of `u` (a row of `upd`), as stored in the outbox. The
 * notifier re-serialises it in the SPEC key order (serializePayload), so
 * jsonb's own key order does not matter.
 */
const PAYLOAD = `jsonb_build_object(
    'event', u.webhook_event,
    'executionId', u.id::text,
    'scriptId', u.script_id::text,
    'workflowId', u.script_id::text,
    'timestamp', ${iso('now()::timestamptz(3)')},
    'data', jsonb_build_object('status', u.status::text, 'startedAt', ${iso('u.started_at')}, 'completedAt', ${iso('u.finished_at')})
      || CASE WHEN u.webhook_event <> 'execution.completed' THEN '{}'::jsonb
              WHEN octet_length(COALESCE(u.output, 'null'::jsonb)::text) > ${OUTBOX_INLINE_OUTPUT_BYTES} THEN '{"outputDeferred": true}'::jsonb
              ELSE jsonb_build_object('output', COALESCE(u.output, 'null'::jsonb)) END
      || CASE WHEN u.error IS NULL OR u.error = 'null'::jsonb THEN '{}'::jsonb ELSE jsonb_build_object('error', u.error) END
  )`;

/**
 * `, webhook_outbox AS (INSERT ...)`: append after the `upd` CTE. `upd` must
 * return id, tenant_id, script_id, api_key_id, webhook_url, status,
 * started_at, finished_at, output, error and webhook_event. The main query
 * reads the new delivery ids with {@link OUTBOX_IDS}.
 *
 * The payload is computed per target row, so a change nobody subscribes to
 * pays only for three index probes that find nothing.
 */
export const OUTBOX_CTE = `,
webhook_targets AS (
  SELECT u.id AS execution_id, 'subscription'::text AS source, s.id AS subscription_id, NULL::uuid AS target_key_id, s.url AS target_url
    FROM upd u
    JOIN webhook_subscriptions s
      ON u.webhook_event IS NOT NULL AND s.tenant_id = u.tenant_id AND s.active AND u.webhook_event = ANY (s.events)
     AND (s.script_id IS NULL OR s.script_id = u.script_id)
  UNION ALL
  SELECT u.id, 'api_key', NULL::uuid, k.id, k.webhook_url
    FROM upd u
    JOIN api_keys k
      ON u.webhook_event IS NOT NULL AND k.id = u.api_key_id AND k.webhook_url IS NOT NULL AND k.revoked_at IS NULL
     AND (COALESCE(cardinality(k.webhook_events), 0) = 0 OR u.webhook_event = ANY (k.webhook_events))
  UNION ALL
  SELECT u.id, 'run', NULL::uuid, NULL::uuid, u.webhook_url
    FROM upd u
   WHERE u.webhook_event IS NOT NULL AND u.webhook_url IS NOT NULL
),
webhook_outbox AS (
  INSERT INTO webhook_deliveries
         (id, tenant_id, subscription_id, api_key_id, source, execution_id, event, url, message_id, payload, status,
          attempts, retry_base, next_attempt_at, created_at)
  SELECT gen_random_uuid(), u.tenant_id, t.subscription_id, t.target_key_id, t.source, u.id, u.webhook_event, t.target_url,
         'msg_' || replace(gen_random_uuid()::text, '-', ''), ${PAYLOAD}, 'pending', 0, 0, now(), now()
    FROM webhook_targets t
    JOIN upd u ON u.id = t.execution_id
  RETURNING id, execution_id
)`;

/**
 * A select-list item: the ids of the deliveries this statement wrote for the
 * execution row `alias` (text[]); per row, so one statement can change many.
 */
export const outboxIdsOf = (alias: string): string =>
  `ARRAY(SELECT o.id::text FROM webhook_outbox o WHERE o.execution_id = ${alias}.id) AS webhook_delivery_ids`;

export const OUTBOX_IDS = outboxIdsOf('upd');

/** Reads OUTBOX_IDS from a result row. */
export function outboxIds(row: Record<string, unknown> | undefined): string[] {
  const ids = row?.webhook_delivery_ids;
  return Array.isArray(ids) ? (ids as string[]) : [];
}

const statementNames = new Map<string, string>();

/**
 * A status-change statement as a named (prepared) statement. The outbox CTE
 * makes these statements costlier to plan than to run; preparing them pays
 * the planning once per connection instead of on every execution. (Measured:
 * claim + finish with the CTE, prepared, take less time than the plain
 * UPDATEs did unprepared.) The name is derived from the text, so each
 * distinct text gets its own statement.
 */
export function outboxStatement(text: string, values: unknown[]): QueryConfig {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `kiln_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
    statementNames.set(text, name);
  }
  return { name, text, values };
}

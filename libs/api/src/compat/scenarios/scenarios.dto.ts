import { z } from 'zod';
import { SCENARIO_STATUSES } from './scenarios.views';

/** Document 003 "Run Scenario": `data` (the scenario's inputs) and `responsive`. */
export const runScenarioBody = z.object({
  data: z.record(z.string(), z.unknown()).optional(),
  responsive: z.boolean().optional(),
});
export type RunScenarioBody = z.infer<typeof runScenarioBody>;

const datetime = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time' });

/** "List Executions" query: `pg[limit]`, `pg[offset]`, `from`, `to`, `status`. */
export const listExecutionsQuery = z.object({
  'pg[limit]': z.coerce.number().int().min(1).max(1000).default(10),
  'pg[offset]': z.coerce.number().int().min(0).max(10_000_000).default(0),
  from: datetime.optional(),
  to: datetime.optional(),
  status: z.enum(SCENARIO_STATUSES).optional(),
});
export type ListExecutionsQuery = z.infer<typeof listExecutionsQuery>;

/**
 * The query string as Fastify parsed it: `pg[limit]` arrives as that literal
 * key; a parser that builds nested objects would give `pg: {limit}`. Both work.
 */
export function flattenPgQuery(query: unknown): Record<string, unknown> {
  const q = { ...((query ?? {}) as Record<string, unknown>) };
  const pg = q.pg;
  if (pg !== null && typeof pg === 'object') {
    const nested = pg as Record<string, unknown>;
    if (nested.limit !== undefined) q['pg[limit]'] ??= nested.limit;
    if (nested.offset !== undefined) q['pg[offset]'] ??= nested.offset;
    delete q.pg;
  }
  delete q.apiKey;
  return q;
}

/**
 * The document's "Activate" step: `PATCH /scenarios/:id {isPaused}` (and a
 * new `name`). Its example sends the JSON without a Content-Type, so a text
 * body is read as JSON too.
 */
export const updateScenarioBody = z
  .object({
    isPaused: z.boolean().optional(),
    name: z.string().trim().min(3).max(100).optional(),
  })
  .strict();
export type UpdateScenarioBody = z.infer<typeof updateScenarioBody>;

export function jsonBody(raw: unknown): unknown {
  if (typeof raw !== 'string') return raw;
  if (raw.trim() === '') return {};
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

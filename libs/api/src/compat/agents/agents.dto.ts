import { z } from 'zod';

/** Document 002 "Execute Agent" request body. */
export const executeAgentBody = z.object({
  input: z.record(z.string(), z.unknown()).optional(),
  description: z.string().max(500).optional(),
});
export type ExecuteAgentBody = z.infer<typeof executeAgentBody>;

/** Approve / reject: an optional reviewer comment. */
export const decisionBody = z.object({ comment: z.string().max(2000).nullable().optional() });
export type DecisionBody = z.infer<typeof decisionBody>;

/** "CSV data is automatically truncated to 100 rows maximum". */
export const CSV_MAX_ROWS = 100;

/** The run's input: `csvData` cut to its first 100 rows when it is an array; the rest as sent. */
export function agentInput(input: Record<string, unknown> | undefined): Record<string, unknown> {
  const value = input ?? {};
  return Array.isArray(value.csvData) && value.csvData.length > CSV_MAX_ROWS ? { ...value, csvData: value.csvData.slice(0, CSV_MAX_ROWS) } : value;
}

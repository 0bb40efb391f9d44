import { z } from 'zod';

const waitSchema = z.union([z.boolean(), z.number().int().min(0).max(900_000)]).optional();
const idempotencyKey = z.string().min(1).max(255).regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

const common = {
  input: z.unknown().optional(),
  wait: waitSchema,
  idempotencyKey: idempotencyKey.optional(),
  webhookUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2048).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
};

export const scriptRunBody = z.object(common);
export type ScriptRunBody = z.infer<typeof scriptRunBody>;

export const adhocRunBody = z.object({
  ...common,
  source: z.string().min(1, 'is required'),
  timeoutMs: z.number().int().min(100).max(900_000).default(30_000),
  memoryMb: z.number().int().min(8).max(512).default(64),
});
export type AdhocRunBody = z.infer<typeof adhocRunBody>;

export const idempotencyHeader = idempotencyKey;

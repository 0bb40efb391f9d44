import { HTTP_METHODS, SCRIPT_STATUSES } from '@kiln/core';
import { z } from 'zod';

const eventType = z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/, 'must be 1-100 letters, digits, or _ . : -');

export const triggersSchema = z
  .object({
    cron: z.string().trim().min(1).max(200).nullable().optional(),
    timezone: z.string().trim().min(1).max(100).nullable().optional(),
    http: z
      .object({
        path: z.string().min(1).max(200),
        methods: z
          .array(z.string().transform((m) => m.toUpperCase()).pipe(z.enum(HTTP_METHODS)))
          .min(1)
          .max(HTTP_METHODS.length)
          .default(['POST']),
        requireApiKey: z.boolean().default(false),
      })
      .strict()
      .nullable()
      .optional(),
    events: z.array(eventType).max(50).optional(),
  })
  .strict();

export type TriggersInput = z.infer<typeof triggersSchema>;

const scriptFields = {
  name: z
    .string()
    .trim()
    .min(3, 'must be 3-100 characters')
    .max(100, 'must be 3-100 characters')
    .regex(/^[^/?#\s][^/?#]*$/, 'must not contain / ? # or start with a space'),
  description: z.string().max(500).nullable(),
  source: z.string().min(1, 'is required'),
  status: z.enum(SCRIPT_STATUSES),
  timeoutMs: z.number().int().min(100).max(900_000),
  memoryMb: z.number().int().min(8).max(512),
  inputSchema: z.record(z.string(), z.unknown()).nullable(),
  triggers: triggersSchema.nullable(),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'env names must look like IDENTIFIER_NAMES'), z.string().max(32_768)).nullable(),
};

export const createScriptBody = z.object({
  name: scriptFields.name,
  source: scriptFields.source,
  description: scriptFields.description.optional(),
  status: scriptFields.status.default('active'),
  timeoutMs: scriptFields.timeoutMs.default(30_000),
  memoryMb: scriptFields.memoryMb.default(64),
  inputSchema: scriptFields.inputSchema.optional(),
  triggers: scriptFields.triggers.optional(),
  env: scriptFields.env.optional(),
});
export type CreateScriptBody = z.infer<typeof createScriptBody>;

export const updateScriptBody = z.object(scriptFields).partial().strict();
export type UpdateScriptBody = z.infer<typeof updateScriptBody>;

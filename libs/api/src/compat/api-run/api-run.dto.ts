import { z } from 'zod';

/** Document 000 "Request Format": scriptId required; query and body optional. */
export const apiRunBody = z.object({
  scriptId: z.string({ error: 'is required' }).min(1, 'is required').max(200),
  query: z.record(z.string(), z.unknown()).optional(),
  body: z.unknown().optional(),
});
export type ApiRunBody = z.infer<typeof apiRunBody>;

import { z } from 'zod';
import { documentOperations } from '../docs/openapi-document';

const cap = z.number().int().min(1).max(1_000_000_000).nullable();

/** PATCH /v1/tenants/:id (admin): a null limit goes back to the installation default. */
export const updateTenantBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    concurrencyLimit: z.number().int().min(1).max(10_000).nullable(),
    hourlyExecutionLimit: cap,
    dailyExecutionLimit: cap,
  })
  .partial()
  .strict()
  .refine((body) => Object.keys(body).length > 0, { message: 'send at least one of name, concurrencyLimit, hourlyExecutionLimit, dailyExecutionLimit' });
export type UpdateTenantBody = z.infer<typeof updateTenantBody>;

documentOperations({
  method: 'patch',
  path: '/v1/tenants/:id',
  summary: 'Change a tenant’s name and limits (admin): concurrencyLimit, hourlyExecutionLimit, dailyExecutionLimit (null = installation default)',
  tag: 'tenants',
  scopes: ['admin'],
  body: updateTenantBody,
  responses: { '200': 'The tenant', '400': 'Validation error (per-field details)', '404': 'No such tenant' },
});

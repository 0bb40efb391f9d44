import { z } from 'zod';
import { createKeyBody, updateKeyBody } from '../api-keys/api-keys.controller';
import { adhocRunBody, scriptRunBody } from '../runs/run.dto';
import { createScriptBody, updateScriptBody } from '../scripts/script.dto';

/**
 * One entry per route. A test compares this list with the routes the
 * gateway really registers, so the document cannot drift from the code.
 */
export interface OperationSpec {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  summary: string;
  tag: string;
  scopes?: string[];
  body?: z.ZodType;
  query?: Record<string, string>;
  responses: Record<string, string>;
  public?: boolean;
}

const operations: OperationSpec[] = [];

export function documentOperations(...specs: OperationSpec[]): void {
  for (const spec of specs) {
    if (!operations.some((o) => o.method === spec.method && o.path === spec.path)) operations.push(spec);
  }
}

export function documentedOperations(): readonly OperationSpec[] {
  return operations;
}

const errorSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string', examples: ['NOT_FOUND'] },
        message: { type: 'string' },
        statusCode: { type: 'integer' },
        details: { type: 'object' },
      },
      required: ['code', 'message', 'statusCode'],
    },
  },
};

function jsonSchema(schema: z.ZodType): unknown {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
}

export function buildOpenApiDocument(serverUrl: string): unknown {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) {
    const path = op.path.replace(/:([A-Za-z]+)/g, '{$1}');
    const params = [...op.path.matchAll(/:([A-Za-z]+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    const query = Object.entries(op.query ?? {}).map(([name, description]) => ({ name, in: 'query', required: false, description, schema: { type: 'string' } }));
    paths[path] ??= {};
    (paths[path])[op.method] = {
      summary: op.summary,
      tags: [op.tag],
      ...(op.public ? { security: [] } : {}),
      ...(op.scopes ? { description: `Scopes: ${op.scopes.join(', ')}` } : {}),
      parameters: [...params, ...query],
      ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(op.body) } } } } : {}),
      responses: Object.fromEntries(
        Object.entries(op.responses).map(([status, description]) => [
          status,
          Number(status) >= 400 ? { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } } : { description },
        ]),
      ),
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Kiln API',
      version: '1.0.0',
      description:
        'Self-hostable, distributed JavaScript execution. Authenticate with `Authorization: Bearer ak_…` or `?apiKey=`. ' +
        'Every authenticated response carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (Unix ms); an empty bucket answers 429 ' +
        '`{"statusCode":429,"message":"Rate limit exceeded","error":"Too Many Requests","retryAfter":<s>}` with `Retry-After`. ' +
        'Runs past the key’s monthly limit answer 403 USAGE_LIMIT_EXCEEDED; past a tenant’s hourly or daily cap, 429 RATE_LIMITED. ' +
        'While the oldest queued run has waited KILN_QUEUE_MAX_WAIT_MS, a new run is held until the workers catch up (backpressure); ' +
        'held past KILN_QUEUE_HOLD_MAX_MS it answers 503 QUEUE_FULL with `Retry-After`, nothing started.',
    },
    servers: [{ url: serverUrl }],
    security: [{ bearer: [] }, { apiKeyQuery: [] }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'ak_<64 hex>' },
        apiKeyQuery: { type: 'apiKey', in: 'query', name: 'apiKey' },
      },
      schemas: { Error: errorSchema },
    },
    paths,
  };
}

const notFound = { '404': 'Not found (or another tenant’s)' };
const bad = { '400': 'Validation error (per-field details)' };
const page = { limit: 'Page size (1-1000, default 50)', offset: 'Items to skip' };

documentOperations(
  { method: 'get', path: '/health/live', summary: 'Liveness', tag: 'operations', public: true, responses: { '200': 'Alive' } },
  { method: 'get', path: '/health/ready', summary: 'Readiness (PostgreSQL and Redis)', tag: 'operations', public: true, responses: { '200': 'Ready', '503': 'Not ready' } },
  { method: 'get', path: '/metrics', summary: 'Prometheus metrics (Bearer KILN_METRICS_TOKEN when that is set)', tag: 'operations', public: true, responses: { '200': 'Prometheus text format', '401': 'UNAUTHORIZED: KILN_METRICS_TOKEN is set and the request does not carry it' } },
  { method: 'get', path: '/docs', summary: 'API documentation (Swagger UI)', tag: 'operations', public: true, responses: { '200': 'HTML' } },
  { method: 'get', path: '/docs/openapi.json', summary: 'This document', tag: 'operations', public: true, responses: { '200': 'OpenAPI 3.1' } },
  { method: 'post', path: '/v1/tenants', summary: 'Create a tenant (admin)', tag: 'tenants', scopes: ['admin'], body: z.object({ name: z.string(), slug: z.string() }), responses: { '201': 'Created, with its default webhook secret (shown once)', ...bad, '409': 'Slug taken' } },
  { method: 'get', path: '/v1/tenants', summary: 'List tenants (admin)', tag: 'tenants', scopes: ['admin'], query: page, responses: { '200': '{items,total,limit,offset}' } },
  { method: 'post', path: '/v1/api-keys', summary: 'Create an API key (the key is returned once)', tag: 'api-keys', scopes: ['keys.manage'], body: createKeyBody, responses: { '201': 'Created', ...bad, '403': 'Cannot grant those scopes' } },
  { method: 'get', path: '/v1/api-keys', summary: 'List API keys (never the secret)', tag: 'api-keys', scopes: ['keys.manage'], query: { ...page, tenantId: 'Admin only: filter by tenant' }, responses: { '200': '{items,total,limit,offset}' } },
  { method: 'get', path: '/v1/api-keys/:id', summary: 'One API key', tag: 'api-keys', scopes: ['keys.manage'], responses: { '200': 'The key (without secret)', ...notFound } },
  { method: 'patch', path: '/v1/api-keys/:id', summary: 'Change name, scopes, active, limits, webhook', tag: 'api-keys', scopes: ['keys.manage'], body: updateKeyBody, responses: { '200': 'Updated', ...bad, ...notFound } },
  { method: 'delete', path: '/v1/api-keys/:id', summary: 'Revoke', tag: 'api-keys', scopes: ['keys.manage'], responses: { '204': 'Revoked', ...notFound } },
  { method: 'post', path: '/v1/scripts', summary: 'Create a script (version 1)', tag: 'scripts', scopes: ['scripts.write'], body: createScriptBody, responses: { '201': 'Created', ...bad, '409': 'Name or HTTP route taken', '413': 'Source over KILN_SCRIPT_SOURCE_MAX_BYTES' } },
  { method: 'get', path: '/v1/scripts', summary: 'List scripts', tag: 'scripts', scopes: ['scripts.read'], query: page, responses: { '200': '{items,total,limit,offset}' } },
  { method: 'get', path: '/v1/scripts/:id', summary: 'One script (id or name) with its current version', tag: 'scripts', scopes: ['scripts.read'], responses: { '200': 'The script', ...notFound } },
  { method: 'patch', path: '/v1/scripts/:id', summary: 'Update; a new source makes a new immutable version', tag: 'scripts', scopes: ['scripts.write'], body: updateScriptBody, responses: { '200': 'Updated', ...bad, ...notFound, '409': 'Name or route taken' } },
  { method: 'put', path: '/v1/scripts/:id', summary: 'Replace the definition; a new source makes a new version', tag: 'scripts', scopes: ['scripts.write'], body: createScriptBody, responses: { '200': 'Updated', ...bad, ...notFound, '409': 'Name or route taken' } },
  { method: 'delete', path: '/v1/scripts/:id', summary: 'Delete (its executions stay readable)', tag: 'scripts', scopes: ['scripts.write'], responses: { '204': 'Deleted', ...notFound } },
  { method: 'get', path: '/v1/scripts/:id/versions', summary: 'Versions, newest first', tag: 'scripts', scopes: ['scripts.read'], responses: { '200': '{items,total}', ...notFound } },
  { method: 'post', path: '/v1/scripts/:id/runs', summary: 'Run a script (202 + Location, or 200 in wait mode)', tag: 'runs', scopes: ['executions.run'], body: scriptRunBody, responses: { '200': 'Finished within the wait: the execution', '202': '{executionId,status,scriptId,scriptVersion,createdAt}', '400': 'Validation error or INVALID_INPUT', ...notFound, '409': 'SCRIPT_INACTIVE', '503': 'QUEUE_FULL: held past KILN_QUEUE_HOLD_MAX_MS by backpressure (Retry-After); QUEUE_UNAVAILABLE: Redis is down; RUN_LOST: the database restarted before a waited-for run started. Nothing started in each case' } },
  { method: 'post', path: '/v1/runs', summary: 'Run ad-hoc code without saving a script', tag: 'runs', scopes: ['executions.run'], body: adhocRunBody, responses: { '200': 'Finished within the wait', '202': 'Accepted', ...bad, '503': 'QUEUE_FULL: held past KILN_QUEUE_HOLD_MAX_MS by backpressure (Retry-After); QUEUE_UNAVAILABLE: Redis is down; RUN_LOST: the database restarted before a waited-for run started. Nothing started in each case' } },
  { method: 'post', path: '/v1/code/validate', summary: 'Parse code: {valid, error:{message,line,column}}', tag: 'runs', scopes: ['scripts.read'], body: z.object({ code: z.string() }), responses: { '200': 'Result' } },
  { method: 'get', path: '/v1/executions', summary: 'List executions', tag: 'executions', scopes: ['executions.read'], query: { ...page, scriptId: 'Filter by script id', status: 'pending|running|completed|failed|cancelled|pending_approval', from: 'createdAt ≥ (ISO 8601)', to: 'createdAt ≤ (ISO 8601)', hasWarnings: 'true: completed with warnings (a warn/error log line or a failed step); false: all others' }, responses: { '200': '{items,total,totalExact,limit,offset}: total is exact up to 1,000 matches; past that it is 1000 with totalExact false', ...bad } },
  { method: 'get', path: '/v1/executions/:id', summary: 'Status, timestamps, attempts, output, logs, error', tag: 'executions', scopes: ['executions.read'], responses: { '200': 'The execution', ...notFound } },
  { method: 'post', path: '/v1/executions/:id/cancel', summary: 'Cancel: pending never runs; running is killed within 1 s', tag: 'executions', scopes: ['executions.run'], responses: { '200': 'The execution after cancel', ...notFound, '409': 'Already finished' } },
  { method: 'post', path: '/v1/executions/:id/retry', summary: 'New execution with the same input (retryOf set)', tag: 'executions', scopes: ['executions.run'], body: z.object({ wait: z.union([z.boolean(), z.number()]).optional() }), responses: { '200': 'Finished within the wait', '202': 'Accepted', ...notFound, '409': 'Not finished yet' } },
  { method: 'post', path: '/v1/executions/:id/approve', summary: 'Approve: runs the script’s onApproved export', tag: 'executions', scopes: ['executions.run'], body: z.object({ comment: z.string().optional() }), responses: { '200': 'The execution (pending again)', ...notFound, '409': 'Not pending approval' } },
  { method: 'post', path: '/v1/executions/:id/reject', summary: 'Reject: the execution ends cancelled with the comment', tag: 'executions', scopes: ['executions.run'], body: z.object({ comment: z.string().optional() }), responses: { '200': 'The execution (cancelled)', ...notFound, '409': 'Not pending approval' } },
);

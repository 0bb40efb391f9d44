import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiClient, eventually, KilnStack } from '@kiln/testing';

// Document 002 (the public agents API), its examples sent verbatim. The
// document's workflow "workflow_bfsi_marketing_template" is a script of that
// name; its webhook example is a per-API-key webhook (SPEC §2), delivered by
// the notifier to a local receiver and checked with the document's own
// Node verification snippet.

// Document 002 "Webhook Signature Verification", verbatim.
const VERIFY_SNIPPET = `const crypto = require('crypto');

function verifyWebhookSignature(payload, signature, secret) {
  const expectedSignature = \`sha256=\${crypto
    .createHmac('sha256', secret)
    .update(payload)
    .digest('hex')}\`;

  return crypto.timingSafeEqual(
    Buffer.from(signature),
    Buffer.from(expectedSignature)
  );
}`;
// eslint-disable-next-line @typescript-eslint/no-implied-eval -- running the document's snippet as written is the point
const verifyWebhookSignature = new Function('require', 'Buffer', `${VERIFY_SNIPPET}\nreturn verifyWebhookSignature;`)(require, Buffer) as (
  payload: string,
  signature: string,
  secret: string,
) => boolean;

// The workflow: AI-generated messages for review, then "sent" once approved.
const WORKFLOW_SOURCE = `
module.exports = async ({ input, approval }) => {
  const rows = input.csvData.map((c) => ({
    customerId: c.customerId, name: c.name, phone: c.phone,
    generated_content: 'Dear ' + c.name.split(' ')[0] + ', special offer...', compliance_status: 'passed',
  }));
  await approval.request({
    rows,
    metadata: { totalRows: rows.length, title: 'Review Generated WhatsApp Messages', description: 'Please review the AI-generated content', allowBulkApproval: true, requireComment: false },
    displayFields: ['customerId', 'name', 'phone', 'generated_content', 'compliance_status'],
  });
};
module.exports.onApproved = async ({ approvalData }) => ({
  successCount: approvalData.rows.length,
  failedCount: 0,
  results: approvalData.rows.map((r) => ({ customerId: r.customerId, status: 'sent', messageId: 'whatsapp_msg_123' })),
});`;

// Document 002 "Execute Agent" request body, verbatim.
const EXECUTE_BODY = `{
  "input": {
    "csvData": [
      {
        "customerId": "CUST001",
        "name": "John Doe",
        "phone": "+918610560986",
        "email": "john@example.com",
        "city": "Mumbai",
        "income_bracket": "75000-100000",
        "age": "32",
        "credit_score": "750"
      }
    ]
  },
  "description": "Optional description for this execution"
}`;

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SECRET = 'your-webhook-secret-key';

interface Delivery {
  headers: IncomingHttpHeaders;
  raw: string;
}

describe('compatibility: public agents API (document 002)', () => {
  let stack: KilnStack;
  let api: ApiClient;
  let key: string;
  let tenantId: string;
  let workflowId: string;
  let receiver: Server;
  const deliveries: Delivery[] = [];

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        deliveries.push({ headers: req.headers, raw: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(200).end('OK');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/workflow-execution`;

    // A small monthly default for this surface, so that its refusal is testable (the real default is 1000).
    stack = await KilnStack.start({ apps: ['gateway', 'worker', 'notifier'], env: { KILN_OUTBOUND_ALLOW: '127.0.0.1', KILN_AGENTS_MONTHLY_LIMIT: '3' } });
    const tenant = await stack.tenant();
    tenantId = tenant.id;
    // The flow's key: its own bucket and monthly limit, and document 002's "Webhook Configuration".
    const created = await stack.admin().post('/v1/api-keys', {
      name: 'agents',
      tenantId,
      rateLimit: { burst: 1000, refillPerSecond: 1000 },
      monthlyExecutionLimit: 1000,
      webhook: {
        url: receiverUrl,
        events: ['execution.started', 'execution.completed', 'execution.failed', 'execution.pending_approval'],
        secret: SECRET,
      },
    });
    expect(created.status).toBe(201);
    key = created.body.key;
    api = new ApiClient(stack.url, key);
    const script = await tenant.client.post('/v1/scripts', { name: 'workflow_bfsi_marketing_template', source: WORKFLOW_SOURCE });
    expect(script.status).toBe(201);
    workflowId = script.body.id;
  });
  afterAll(async () => {
    await stack?.stop();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  const post = (path: string, rawBody: string, client = api) =>
    client.request('POST', `/api/v1/public${path}`, { rawBody, headers: { 'content-type': 'application/json' } });
  const get = (path: string, client = api) => client.get(`/api/v1/public${path}`);
  const statusOf = (id: string, wanted: string) =>
    eventually(
      async () => {
        const res = await get(`/executions/${id}/status`);
        return res.body.status === wanted ? res.body : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 100, what: `execution ${id} to be ${wanted}` },
    );

  it('runs the documented flow: execute → pending_approval → approve → completed, with webhooks the document verifies', async () => {
    const accepted = await post('/agents/workflow_bfsi_marketing_template/execute', EXECUTE_BODY);
    expect(accepted.status).toBe(202);
    expect(accepted.body).toEqual({ executionId: expect.stringMatching(UUID), status: 'pending', startedAt: expect.stringMatching(ISO), message: 'Execution started successfully' });
    const { executionId, startedAt } = accepted.body;

    const parked = await statusOf(executionId, 'pending_approval');
    expect(parked).toEqual({ id: executionId, status: 'pending_approval', startedAt, completedAt: null, error: null, approvalStatus: 'pending' });

    const review = await get(`/executions/${executionId}/pending-approval`);
    expect(review.status).toBe(200);
    expect(review.body).toEqual({
      id: executionId,
      workflowId,
      status: 'pending_approval',
      approvalData: {
        rows: [{ customerId: 'CUST001', name: 'John Doe', phone: '+918610560986', generated_content: 'Dear John, special offer...', compliance_status: 'passed' }],
        metadata: { totalRows: 1, title: 'Review Generated WhatsApp Messages', description: 'Please review the AI-generated content', allowBulkApproval: true, requireComment: false },
        displayFields: ['customerId', 'name', 'phone', 'generated_content', 'compliance_status'],
      },
      startedAt,
    });

    const approved = await post(`/executions/${executionId}/approve`, `{
  "comment": "Content approved, looks good"
}`);
    expect(approved.status).toBe(200);
    expect(approved.body).toEqual({ executionId, status: 'approved', message: 'Execution approved and will continue' });

    await statusOf(executionId, 'completed');
    const results = await get(`/executions/${executionId}/results`);
    expect(results.status).toBe(200);
    expect(results.body).toEqual({
      id: executionId,
      status: 'completed',
      output: { successCount: 1, failedCount: 0, results: [{ customerId: 'CUST001', status: 'sent', messageId: 'whatsapp_msg_123' }] },
      error: null,
      startedAt,
      completedAt: expect.stringMatching(ISO),
    });
    const status = await get(`/executions/${executionId}/status`);
    expect(status.body).toMatchObject({ status: 'completed', approvalStatus: 'approved', completedAt: results.body.completedAt });

    // The description is kept with the execution (Kiln metadata).
    const native = await api.get(`/v1/executions/${executionId}`);
    expect(native.body.metadata).toEqual({ description: 'Optional description for this execution' });

    // Webhooks: started, pending_approval, completed — each verified with the document's snippet.
    const mine = () => deliveries.filter((d) => d.headers['x-webhook-execution-id'] === executionId);
    await eventually(() => Promise.resolve(mine().some((d) => d.headers['x-webhook-event'] === 'execution.completed') ? true : undefined), {
      timeoutMs: 20_000,
      what: 'the execution.completed webhook',
    });
    const events = mine().map((d) => d.headers['x-webhook-event']);
    expect(events).toEqual(expect.arrayContaining(['execution.started', 'execution.pending_approval', 'execution.completed']));
    for (const delivery of mine()) {
      const signature = delivery.headers['x-webhook-signature'] as string;
      expect(verifyWebhookSignature(delivery.raw, signature, SECRET)).toBe(true);
      expect(verifyWebhookSignature(delivery.raw.replace('}', ' }'), signature, SECRET)).toBe(false);
      expect(delivery.headers['content-type']).toMatch(/^application\/json/);
    }
    const completed = mine().find((d) => d.headers['x-webhook-event'] === 'execution.completed') as Delivery;
    expect(JSON.parse(completed.raw)).toEqual({
      event: 'execution.completed',
      executionId,
      scriptId: workflowId,
      workflowId,
      timestamp: expect.stringMatching(ISO),
      data: { status: 'completed', startedAt: expect.stringMatching(ISO), completedAt: expect.stringMatching(ISO), output: results.body.output },
    });
  });

  it('rejects: {status: "rejected"}, the execution ends cancelled; a second decision is 409 and pending-approval 404', async () => {
    const accepted = await post('/agents/workflow_bfsi_marketing_template/execute', EXECUTE_BODY);
    const { executionId } = accepted.body;
    await statusOf(executionId, 'pending_approval');
    const rejected = await post(`/executions/${executionId}/reject`, `{
  "comment": "Content does not meet standards"
}`);
    expect(rejected.status).toBe(200);
    expect(rejected.body).toEqual({ executionId, status: 'rejected', message: 'Execution rejected and stopped' });
    const status = await get(`/executions/${executionId}/status`);
    expect(status.body).toMatchObject({ status: 'cancelled', approvalStatus: 'rejected', completedAt: expect.stringMatching(ISO) });

    const again = await post(`/executions/${executionId}/approve`, '{}');
    expect(again.status).toBe(409);
    expect(again.body).toEqual({ message: 'Execution is cancelled, not pending_approval', error: 'Conflict', statusCode: 409 });
    const review = await get(`/executions/${executionId}/pending-approval`);
    expect(review.status).toBe(404);
    expect(review.body).toEqual({ message: 'Execution is not pending approval (status: cancelled)', error: 'Not Found', statusCode: 404 });
  });

  it('truncates input.csvData to 100 rows before the run', async () => {
    await new ApiClient(stack.url, key).post('/v1/scripts', {
      name: 'csv-counter',
      source: 'module.exports = ({ input }) => ({ rows: input.csvData.length, last: input.csvData[input.csvData.length - 1].customerId, other: input.other });',
    });
    const csvData = Array.from({ length: 150 }, (_, i) => ({ customerId: `CUST${String(i + 1).padStart(3, '0')}` }));
    const accepted = await post('/agents/csv-counter/execute', JSON.stringify({ input: { csvData, other: 'kept' } }));
    expect(accepted.status).toBe(202);
    await statusOf(accepted.body.executionId, 'completed');
    const results = await get(`/executions/${accepted.body.executionId}/results`);
    expect(results.body.output).toEqual({ rows: 100, last: 'CUST100', other: 'kept' });
  });

  it('answers the document\'s error bodies: 401, 403 (inactive, expired, usage limit, workflow inactive), 404', async () => {
    const anonymous = new ApiClient(stack.url);
    const missing = await get('/executions/16cf01cc-e0b6-49a6-bb8e-5b23475a0957/status', anonymous);
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({ message: 'Invalid API key', error: 'Unauthorized', statusCode: 401 });
    const wrong = await get('/executions/16cf01cc-e0b6-49a6-bb8e-5b23475a0957/status', anonymous.withKey(`ak_${'f'.repeat(64)}`));
    expect(wrong.body).toEqual(missing.body);

    const notFound = await get('/executions/16cf01cc-e0b6-49a6-bb8e-5b23475a0957/status');
    expect(notFound.status).toBe(404);
    expect(notFound.body).toEqual({ message: 'Execution not found', error: 'Not Found', statusCode: 404 });
    for (const path of ['/executions/not-a-uuid/results', '/executions/16cf01cc-e0b6-49a6-bb8e-5b23475a0957/pending-approval']) {
      expect((await get(path)).body).toEqual({ message: 'Execution not found', error: 'Not Found', statusCode: 404 });
    }
    const noWorkflow = await post('/agents/no-such-workflow/execute', EXECUTE_BODY);
    expect(noWorkflow.body).toEqual({ message: 'Workflow not found', error: 'Not Found', statusCode: 404 });

    const admin = stack.admin();
    const inactiveKey = await admin.post('/v1/api-keys', { name: 'inactive', tenantId, active: false });
    const inactive = await get('/executions/16cf01cc-e0b6-49a6-bb8e-5b23475a0957/status', anonymous.withKey(inactiveKey.body.key));
    expect(inactive.status).toBe(403);
    expect(inactive.body).toEqual({ message: 'API key is inactive', error: 'Forbidden', statusCode: 403 });
    const expiredKey = await admin.post('/v1/api-keys', { name: 'expired', tenantId, expiresAt: new Date(Date.now() - 60_000).toISOString() });
    const expired = await get('/executions/16cf01cc-e0b6-49a6-bb8e-5b23475a0957/status', anonymous.withKey(expiredKey.body.key));
    expect(expired.body).toEqual({ message: 'API key has expired', error: 'Forbidden', statusCode: 403 });

    // A key without a monthly limit of its own gets this surface's default (KILN_AGENTS_MONTHLY_LIMIT, here 3).
    const plainKey = await admin.post('/v1/api-keys', { name: 'plain', tenantId });
    const plain = anonymous.withKey(plainKey.body.key);
    for (let i = 0; i < 3; i += 1) expect((await post('/agents/csv-counter/execute', '{"input":{"csvData":[{"customerId":"X"}]}}', plain)).status).toBe(202);
    const over = await post('/agents/csv-counter/execute', '{"input":{"csvData":[{"customerId":"X"}]}}', plain);
    expect(over.status).toBe(403);
    expect(over.body).toEqual({ message: 'API key usage limit exceeded', error: 'Forbidden', statusCode: 403 });

    await api.patch(`/v1/scripts/csv-counter`, { status: 'paused' });
    const paused = await post('/agents/csv-counter/execute', EXECUTE_BODY);
    expect(paused.status).toBe(403);
    expect(paused.body).toEqual({ message: 'Workflow is inactive', error: 'Forbidden', statusCode: 403 });
    await api.patch(`/v1/scripts/csv-counter`, { status: 'active' });

    const badBody = await post('/agents/csv-counter/execute', '{"input": [1, 2]}');
    expect(badBody.status).toBe(400);
    expect(badBody.body).toMatchObject({ error: 'Bad Request', statusCode: 400, message: expect.stringContaining('input') });
  });

  it('keeps the document\'s bucket: burst 10, refill 1/s, headers on every response, 429 with Retry-After', async () => {
    const fresh = await stack.admin().post('/v1/api-keys', { name: 'bucket', tenantId });
    const client = new ApiClient(stack.url, fresh.body.key);
    const path = '/executions/16cf01cc-e0b6-49a6-bb8e-5b23475a0957/status';
    const first = await get(path, client);
    expect(first.headers.get('x-ratelimit-limit')).toBe('10');
    expect(Number(first.headers.get('x-ratelimit-remaining'))).toBeLessThanOrEqual(9);
    expect(Number(first.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() - 1000);
    let limited = first;
    for (let i = 0; i < 15 && limited.status !== 429; i += 1) limited = await get(path, client);
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ statusCode: 429, message: 'Rate limit exceeded', error: 'Too Many Requests', retryAfter: expect.any(Number) });
    expect(limited.headers.get('retry-after')).toBe(String(limited.body.retryAfter));
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');

    // Document 002 "Example: Handling Rate Limits", verbatim: it waits Retry-After and tries again.
    const logs: string[] = [];
    const makeRequestWithRateLimit = runDocumentCode(
      `async function makeRequestWithRateLimit(url, options) {
  const response = await fetch(url, options);

  // Check rate limit headers
  const remaining = parseInt(response.headers.get('X-RateLimit-Remaining') || '0');
  const limit = parseInt(response.headers.get('X-RateLimit-Limit') || '10');

  console.log(\`Rate limit: \${remaining}/\${limit} remaining\`);

  if (response.status === 429) {
    const retryAfter = parseInt(response.headers.get('Retry-After') || '60');
    console.log(\`Rate limited. Retrying after \${retryAfter} seconds\`);

    // Wait and retry
    await new Promise(resolve => setTimeout(resolve, retryAfter * 1000));
    return makeRequestWithRateLimit(url, options);
  }

  return response;
}
return makeRequestWithRateLimit;`,
      logs,
    ) as (url: string, options: RequestInit) => Promise<Response>;
    // A slow bucket of its own (1 token, one per 4 s), so the first call is surely refused and the retry surely passes.
    const slow = await stack.admin().post('/v1/api-keys', { name: 'slow', tenantId, rateLimit: { burst: 1, refillPerSecond: 0.25 } });
    expect((await get(path, new ApiClient(stack.url, slow.body.key))).status).toBe(404);
    const response = await makeRequestWithRateLimit(`${stack.url}/api/v1/public${path}`, { headers: { Authorization: `Bearer ${slow.body.key}` } });
    expect(response.status).toBe(404);
    expect(logs[0]).toBe('Rate limit: 0/1 remaining');
    expect(logs[1]).toMatch(/^Rate limited\. Retrying after [1-4] seconds$/);
    expect(logs[2]).toBe('Rate limit: 0/1 remaining');
  }, 30_000);

  it('runs the document\'s "Complete Example" client as written', async () => {
    const logs: string[] = [];
    const completeExample = `// 1. Execute agent
const executeResponse = await fetch(
  'http://localhost:3001/api/v1/public/agents/workflow_bfsi_marketing_template/execute',
  {
    method: 'POST',
    headers: {
      'Authorization': 'Bearer YOUR_API_KEY',
      'Content-Type': 'application/json'
    },
    body: JSON.stringify({
      input: {
        csvData: [
          {
            customerId: "CUST001",
            name: "John Doe",
            phone: "+918610560986",
            email: "john@example.com",
            city: "Mumbai",
            income_bracket: "75000-100000",
            age: "32",
            credit_score: "750"
          }
        ]
      },
      description: "Marketing campaign execution"
    })
  }
);

const { executionId } = await executeResponse.json();
console.log('Execution started:', executionId);

// 2. Poll for status
let status = 'pending';
while (status === 'pending' || status === 'running') {
  await new Promise(resolve => setTimeout(resolve, 5000));

  const statusResponse = await fetch(
    \`http://localhost:3001/api/v1/public/executions/\${executionId}/status\`,
    {
      headers: {
        'Authorization': 'Bearer YOUR_API_KEY'
      }
    }
  );

  const statusData = await statusResponse.json();
  status = statusData.status;
  console.log('Current status:', status);

  if (status === 'pending_approval') {
    // Handle approval workflow
    console.log('Execution requires approval');
    break;
  }
}

// 3. Get results (if completed)
if (status === 'completed') {
  const resultsResponse = await fetch(
    \`http://localhost:3001/api/v1/public/executions/\${executionId}/results\`,
    {
      headers: {
        'Authorization': 'Bearer YOUR_API_KEY'
      }
    }
  );

  const results = await resultsResponse.json();
  console.log('Execution results:', results.output);
}`;
    // Only the base URL and the key placeholder change.
    const code = completeExample.replaceAll('http://localhost:3001', stack.url).replaceAll('YOUR_API_KEY', key);
    await (runDocumentCode(`return (async () => {\n${code}\n})();`, logs) as Promise<void>);
    expect(logs[0]).toMatch(/^Execution started: [0-9a-f-]{36}$/);
    expect(logs.slice(1)).toEqual(['Current status: pending_approval', 'Execution requires approval']);
  }, 30_000);
});

/** Runs a document's client code with this process's fetch and a console that collects lines. */
function runDocumentCode(body: string, logs: string[]): unknown {
  const console = { log: (...args: unknown[]) => logs.push(args.map(String).join(' ')) };
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the document's code, as written
  return new Function('fetch', 'console', body)(fetch, console);
}

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ApiClient, eventually, KilnStack } from '@kiln/testing';

// Document 003 (the scenarios execution API), its examples sent verbatim
// with the document's `Authorization: Token <key>`. A scenario is a Kiln
// script; its modules are the script itself plus one per host call.
// KILN_WAIT_MAX_MS is 3 s here so that the responsive timeout (40 s by
// default) can be seen without waiting 40 s.

// The scenario of the document's example: data {inputField1, inputField2} → outputs {outputField1, outputField2}.
const SCENARIO_SOURCE = `
module.exports = async ({ input, context, sdk }) => {
  const res = await fetch(context.env.LOOKUP_URL + '/lookup?q=' + encodeURIComponent(input.inputField1) + '&token=secret-token');
  const lookup = await res.json();
  await sdk.cache.set('last', input.inputField2);
  const last = await sdk.cache.get('last');
  await sdk.cache.increment('runs');
  return { outputField1: lookup.result, outputField2: ['array', 'of', last === 'value2' ? 'values' : last] };
};`;

// One script for every status: completed, warning (a warn line), error, stopped (sleeps), retry.
const STATUSES_SOURCE = `
module.exports = async ({ input }) => {
  if (input.mode === 'warn') console.warn('low stock');
  if (input.mode === 'fail') throw new Error('Connection refused');
  if (input.mode === 'sleep') await new Promise((r) => setTimeout(r, input.ms || 30000));
  return { mode: input.mode };
};`;

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('compatibility: scenarios execution API (document 003)', () => {
  let stack: KilnStack;
  let api: ApiClient;
  let key: string;
  let lookup: Server;
  let lookupUrl: string;
  let scenarioId: string;
  let statusesId: string;

  beforeAll(async () => {
    lookup = createServer((req, res) => {
      const q = new URL(req.url ?? '/', 'http://x').searchParams.get('q') ?? '';
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ result: q.replace('value', 'result') }));
    });
    await new Promise<void>((resolve) => lookup.listen(0, '127.0.0.1', resolve));
    lookupUrl = `http://127.0.0.1:${(lookup.address() as AddressInfo).port}`;
    stack = await KilnStack.start({ apps: ['gateway', 'worker'], env: { KILN_OUTBOUND_ALLOW: '127.0.0.1', KILN_WAIT_MAX_MS: '3000' } });
    const tenant = await stack.tenant();
    api = tenant.client;
    key = tenant.key;
    const scenario = await api.post('/v1/scripts', { name: 'on-demand-processor', source: SCENARIO_SOURCE, env: { LOOKUP_URL: lookupUrl } });
    expect(scenario.status).toBe(201);
    scenarioId = scenario.body.id;
    const statuses = await api.post('/v1/scripts', { name: 'statuses', source: STATUSES_SOURCE });
    statusesId = statuses.body.id;
  });
  afterAll(async () => {
    await stack?.stop();
    await new Promise((resolve) => lookup?.close(resolve));
  });

  /** The document's requests: `Authorization: Token <key>`. */
  const call = (method: string, path: string, rawBody?: string, token = key) =>
    api.request(method, path, {
      key: null,
      headers: { authorization: `Token ${token}`, ...(rawBody !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(rawBody !== undefined ? { rawBody } : {}),
    });
  const finished = (id: string, execId: string) =>
    eventually(
      async () => {
        const res = await call('GET', `/scenarios/${id}/executions/${execId}`);
        return ['pending', 'running'].includes(res.body.execution?.status) ? undefined : res.body.execution;
      },
      { timeoutMs: 20_000, what: `execution ${execId} to finish` },
    );

  it('runs responsively: {executionId, outputs, stats: {operations, dataTransfer}} (the document\'s request body)', async () => {
    const res = await call('POST', `/scenarios/${scenarioId}/run`, `{
  "data": {
    "inputField1": "value1",
    "inputField2": "value2"
  },
  "responsive": true
}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      executionId: expect.any(String),
      outputs: { outputField1: 'result1', outputField2: ['array', 'of', 'values'] },
      stats: { operations: 5, dataTransfer: expect.any(Number) },
    });
    // dataTransfer: input + output JSON + every host call's request and response (the native step record).
    const steps = await api.get(`/v1/executions/${res.body.executionId}/steps`);
    expect(steps.body.items.map((s: { op: string }) => s.op)).toEqual(['fetch', 'cache.set', 'cache.get', 'cache.increment']);
    const stepBytes = steps.body.items.reduce((sum: number, s: { requestBytes: number; responseBytes: number }) => sum + s.requestBytes + s.responseBytes, 0);
    const ioBytes = Buffer.byteLength(JSON.stringify({ inputField1: 'value1', inputField2: 'value2' })) + Buffer.byteLength(JSON.stringify(res.body.outputs));
    expect(res.body.stats.dataTransfer).toBe(ioBytes + stepBytes);
    // The recorded URL keeps no query string (it may carry tokens).
    expect(steps.body.items[0]).toMatchObject({ index: 1, target: `GET ${lookupUrl}/lookup`, status: 'ok', httpStatus: 200 });
    expect(JSON.stringify(steps.body)).not.toContain('secret-token');

    const status = await call('GET', `/scenarios/${scenarioId}/executions/${res.body.executionId}`);
    expect(status.status).toBe(200);
    expect(status.body).toEqual({
      execution: {
        id: res.body.executionId,
        scenarioId,
        status: 'completed',
        started: expect.stringMatching(ISO),
        finished: expect.stringMatching(ISO),
        operations: 5,
        dataTransfer: res.body.stats.dataTransfer,
        duration: expect.any(Number),
      },
    });

    const details = await call('GET', `/scenarios/${scenarioId}/executions/${res.body.executionId}/details`);
    expect(details.status).toBe(200);
    const modules = details.body.execution.modules;
    expect(details.body.execution.id).toBe(res.body.executionId);
    expect(modules.map((m: { id: number; name: string; status: string }) => [m.id, m.name, m.status])).toEqual([
      [1, 'Script: on-demand-processor', 'completed'],
      [2, 'HTTP Request', 'completed'],
      [3, 'Cache set', 'completed'],
      [4, 'Cache get', 'completed'],
      [5, 'Cache increment', 'completed'],
    ]);
    expect(modules[0]).toMatchObject({ input: { inputField1: 'value1', inputField2: 'value2' }, output: res.body.outputs, duration: expect.any(Number) });
    expect(modules[1]).toMatchObject({ input: { method: 'GET', url: `${lookupUrl}/lookup` }, output: { status: 200 }, duration: expect.any(Number) });
    expect(modules[2].input).toEqual({ key: 'last' });
  });

  it('runs non-responsively: {executionId} only', async () => {
    const omitted = await call('POST', `/scenarios/${scenarioId}/run`, `{
  "data": {
    "inputField1": "value1",
    "inputField2": "value2"
  }
}`);
    expect(omitted.status).toBe(200);
    expect(omitted.body).toEqual({ executionId: expect.any(String) });
    expect((await finished(scenarioId, omitted.body.executionId)).status).toBe('completed');
    const explicit = await call('POST', `/scenarios/on-demand-processor/run`, '{"data": {"inputField1": "value1"}, "responsive": false}');
    expect(explicit.body).toEqual({ executionId: expect.any(String) });
  });

  it('follows the document\'s on-demand example: an inactive scenario, activated with PATCH {isPaused: false}, then run', async () => {
    // Step 1 ("Create scenario") is Kiln's POST /v1/scripts; a draft is not active yet.
    const created = await api.post('/v1/scripts', { name: 'on-demand', status: 'draft', source: 'module.exports = ({ input }) => ({ received: input.inputParam1 });' });
    const scenario = { id: created.body.id as string };
    const before = await call('POST', `/scenarios/${scenario.id}/run`, '{"responsive": true, "data": {"inputParam1": "value1"}}');
    expect(before.status).toBe(409);
    expect(before.body.error.code).toBe('SCENARIO_INACTIVE');
    // Steps 2 and 3, verbatim (no Content-Type on the PATCH, as written).
    const steps = `// 2. Activate
await fetch(\`\${baseUrl}/scenarios/\${scenario.id}\`, {
  method: 'PATCH',
  headers: { 'Authorization': \`Token \${apiKey}\` },
  body: JSON.stringify({ isPaused: false })
});

// 3. Run with data
const result = await fetch(\`\${baseUrl}/scenarios/\${scenario.id}/run\`, {
  method: 'POST',
  headers: {
    'Authorization': \`Token \${apiKey}\`,
    'Content-Type': 'application/json'
  },
  body: JSON.stringify({
    responsive: true,
    data: {
      inputParam1: 'value1'
    }
  })
});`;
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the document's client code, as written
    const run = new Function('fetch', 'baseUrl', 'apiKey', 'scenario', `return (async () => {\n${steps}\nreturn result;\n})();`) as (
      ...args: unknown[]
    ) => Promise<Response>;
    const result = await run(fetch, stack.url, key, scenario);
    expect(result.status).toBe(200);
    expect(await result.json()).toEqual({ executionId: expect.any(String), outputs: { received: 'value1' }, stats: { operations: 1, dataTransfer: expect.any(Number) } });
    const script = await api.get(`/v1/scripts/${scenario.id}`);
    expect(script.body.status).toBe('active');
    const paused = await call('PATCH', `/scenarios/${scenario.id}`, '{"isPaused": true}');
    expect(paused.body).toEqual({ scenario: { id: scenario.id, name: 'on-demand', isPaused: true, isActive: false } });
    expect((await call('PATCH', `/scenarios/${scenario.id}`, '{"isPaused": "no"}')).body.error.code).toBe('INVALID_INPUT');
  });

  it('maps statuses (completed, warning, error, stopped) and filters the list with pg[limit], pg[offset], from, to, status', async () => {
    const before = new Date().toISOString();
    const ids: Record<string, string> = {};
    for (const mode of ['ok', 'warn', 'fail']) {
      const res = await call('POST', `/scenarios/statuses/run`, JSON.stringify({ data: { mode } }));
      ids[mode] = res.body.executionId;
      await finished(statusesId, res.body.executionId);
    }
    const sleeper = await call('POST', `/scenarios/statuses/run`, JSON.stringify({ data: { mode: 'sleep' } }));
    ids.sleep = sleeper.body.executionId;
    await eventually(async () => ((await call('GET', `/scenarios/statuses/executions/${ids.sleep}`)).body.execution.status === 'running' ? true : undefined));
    const stopped = await call('POST', `/scenarios/statuses/executions/${ids.sleep}/stop`);
    expect(stopped.status).toBe(200);
    expect(stopped.body.execution).toMatchObject({ id: ids.sleep, status: 'stopped', finished: expect.stringMatching(ISO) });
    const stopAgain = await call('POST', `/scenarios/statuses/executions/${ids.sleep}/stop`);
    expect(stopAgain.status).toBe(409);
    expect(stopAgain.body.error.code).toBe('EXECUTION_FINISHED');

    const statusOf = async (id: string | undefined) => (await call('GET', `/scenarios/statuses/executions/${id}`)).body.execution.status;
    expect([await statusOf(ids.ok), await statusOf(ids.warn), await statusOf(ids.fail), await statusOf(ids.sleep)]).toEqual(['completed', 'warning', 'error', 'stopped']);

    const all = await call('GET', `/scenarios/${statusesId}/executions`);
    expect(all.status).toBe(200);
    expect(all.body.pg).toEqual({ limit: 10, offset: 0, total: 4 });
    expect(all.body.executions[0]).toEqual({ id: ids.sleep, status: 'stopped', started: expect.stringMatching(ISO), finished: expect.stringMatching(ISO) });
    const byStatus = async (status: string) =>
      (await call('GET', `/scenarios/${statusesId}/executions?status=${status}`)).body.executions.map((e: { id: string }) => e.id);
    expect(await byStatus('completed')).toEqual([ids.ok]);
    expect(await byStatus('warning')).toEqual([ids.warn]);
    expect(await byStatus('error')).toEqual([ids.fail]);
    expect(await byStatus('stopped')).toEqual([ids.sleep]);
    expect(await byStatus('running')).toEqual([]);

    const paged = await call('GET', `/scenarios/${statusesId}/executions?pg[limit]=2&pg[offset]=1`);
    expect(paged.body.pg).toEqual({ limit: 2, offset: 1, total: 4 });
    expect(paged.body.executions.map((e: { id: string }) => e.id)).toEqual([ids.fail, ids.warn]);
    const encoded = await call('GET', `/scenarios/${statusesId}/executions?${encodeURIComponent('pg[limit]')}=1`);
    expect(encoded.body.executions).toHaveLength(1);
    const window = await call('GET', `/scenarios/${statusesId}/executions?from=${encodeURIComponent(before)}&to=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
    expect(window.body.pg.total).toBe(4);
    const future = await call('GET', `/scenarios/${statusesId}/executions?from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
    expect(future.body).toEqual({ executions: [], pg: { limit: 10, offset: 0, total: 0 } });
    const bad = await call('GET', `/scenarios/${statusesId}/executions?status=exploded`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('INVALID_INPUT');

    // The native filter underneath: GET /v1/executions?hasWarnings=…
    const warned = await api.get(`/v1/executions?scriptId=${statusesId}&hasWarnings=true`);
    expect(warned.body.items.map((e: { id: string }) => e.id)).toEqual([ids.warn]);

    // Retry: a new execution with the same input.
    const retried = await call('POST', `/scenarios/statuses/executions/${ids.fail}/retry`);
    expect(retried.status).toBe(200);
    expect(retried.body).toEqual({ executionId: expect.any(String) });
    expect(retried.body.executionId).not.toBe(ids.fail);
    expect((await finished(statusesId, retried.body.executionId)).status).toBe('error');
    const native = await api.get(`/v1/executions/${retried.body.executionId}`);
    expect(native.body).toMatchObject({ retryOf: ids.fail, input: { mode: 'fail' } });
  });

  it('answers EXECUTION_ERROR with the failing module, TIMEOUT, INVALID_INPUT, SCENARIO_INACTIVE and RATE_LIMITED in the document\'s error shape', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/down`;
    await new Promise((resolve) => closed.close(resolve));
    const failing = await api.post('/v1/scripts', { name: 'calls-a-dead-host', source: `module.exports = async () => { const r = await fetch(${JSON.stringify(deadUrl)}); return r.status; };` });
    const failed = await call('POST', `/scenarios/${failing.body.id}/run`, '{"data": {}, "responsive": true}');
    expect(failed.status).toBe(500);
    expect(failed.body).toEqual({
      error: {
        message: 'Scenario execution failed',
        code: 'EXECUTION_ERROR',
        details: { moduleId: 2, moduleName: 'HTTP Request', error: expect.any(String), executionId: expect.any(String) },
      },
    });

    const slow = await api.post('/v1/scripts', { name: 'over-its-limit', source: 'module.exports = () => { while (true) {} };', timeoutMs: 300 });
    const timedOut = await call('POST', `/scenarios/${slow.body.id}/run`, '{"responsive": true}');
    expect(timedOut.status).toBe(504);
    expect(timedOut.body.error).toMatchObject({ code: 'TIMEOUT', details: { moduleId: 1, moduleName: 'Script: over-its-limit' } });

    // Past the responsive timeout (KILN_WAIT_MAX_MS, 3 s here): TIMEOUT, and the scenario keeps running.
    const long = await call('POST', `/scenarios/statuses/run`, JSON.stringify({ data: { mode: 'sleep', ms: 4000 }, responsive: true }));
    expect(long.status).toBe(504);
    expect(long.body).toEqual({ error: { message: 'Scenario did not finish within 3 s; it keeps running', code: 'TIMEOUT', details: { executionId: expect.any(String), status: 'running' } } });
    expect((await finished(statusesId, long.body.error.details.executionId)).status).toBe('completed');

    const typed = await api.post('/v1/scripts', {
      name: 'typed-inputs',
      source: 'module.exports = ({ input }) => input.n * 2;',
      inputSchema: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } },
    });
    const invalid = await call('POST', `/scenarios/${typed.body.id}/run`, '{"data": {"n": "two"}, "responsive": true}');
    expect(invalid.status).toBe(400);
    expect(invalid.body).toEqual({ error: { message: 'Input does not match the script inputSchema', code: 'INVALID_INPUT', details: { fields: [{ field: 'input.n', message: 'must be integer' }] } } });
    const malformed = await call('POST', `/scenarios/${typed.body.id}/run`, '{"data": [1], "responsive": "yes"}');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('INVALID_INPUT');

    await api.patch('/v1/scripts/typed-inputs', { status: 'paused' });
    const inactive = await call('POST', `/scenarios/${typed.body.id}/run`, '{"data": {"n": 2}}');
    expect(inactive.status).toBe(409);
    expect(inactive.body).toEqual({ error: { message: 'Scenario is inactive', code: 'SCENARIO_INACTIVE', details: { status: 'paused' } } });

    // "Too many executions": the tenant's hourly cap, on a tenant of its own.
    const capped = await stack.tenant();
    await stack.admin().patch(`/v1/tenants/${capped.id}`, { hourlyExecutionLimit: 1 });
    const cappedScript = await capped.client.post('/v1/scripts', { name: 'capped', source: 'module.exports = () => 1;' });
    expect((await call('POST', `/scenarios/${cappedScript.body.id}/run`, '{}', capped.key)).status).toBe(200);
    const limited = await call('POST', `/scenarios/${cappedScript.body.id}/run`, '{}', capped.key);
    expect(limited.status).toBe(429);
    expect(limited.body.error).toMatchObject({ code: 'RATE_LIMITED', details: { window: 'hour', limit: 1 } });
  });

  it('accepts `Token` only on /scenarios, and answers unknown scenarios and executions with NOT_FOUND', async () => {
    const anonymous = await api.request('GET', `/scenarios/${scenarioId}/executions`, { key: null });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toEqual({ error: { message: expect.any(String), code: 'UNAUTHORIZED' } });
    const bearer = await api.get(`/scenarios/${scenarioId}/executions`);
    expect(bearer.status).toBe(200);
    const tokenOnNative = await api.request('GET', '/v1/scripts', { key: null, headers: { authorization: `Token ${key}` } });
    expect(tokenOnNative.status).toBe(401);

    expect((await call('GET', '/scenarios/no-such-scenario/executions')).body).toEqual({ error: { message: 'Scenario not found', code: 'NOT_FOUND' } });
    const unknownExec = await call('GET', `/scenarios/${scenarioId}/executions/16cf01cc-e0b6-49a6-bb8e-5b23475a0957`);
    expect(unknownExec.status).toBe(404);
    expect(unknownExec.body).toEqual({ error: { message: 'Execution not found', code: 'NOT_FOUND' } });
    // An execution of another scenario is not this scenario's.
    const other = await call('POST', `/scenarios/statuses/run`, JSON.stringify({ data: { mode: 'ok' } }));
    expect((await call('GET', `/scenarios/${scenarioId}/executions/${other.body.executionId}`)).status).toBe(404);
  });
});

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ApiClient, KilnStack } from '@kiln/testing';

// Document 004 (the code-node API), its examples sent verbatim (the curl
// bodies below are copied from the document). There is no internet here:
// example 4 is sent as written and fails the documented way, then the same
// code runs against a loopback copy of jsonplaceholder
// (KILN_OUTBOUND_ALLOW=127.0.0.1) for the success shape.

const POST = { userId: 1, id: 1, title: 'sunt aut facere repellat provident', body: 'quia et suscipit\nsuscipit recusandae' };

const TEMPLATE_IDS = [
  'hello_world',
  'fetch_data',
  'process_array',
  'loop_example',
  'error_handling',
  'conditional_logic',
  'data_validation',
  'data_aggregation',
  'async_await',
  'object_manipulation',
  'string_operations',
  'mathematical_operations',
];

describe('compatibility: code-node API (document 004)', () => {
  let stack: KilnStack;
  let api: ApiClient;
  let tenantId: string;
  let server: Server;
  let serverUrl: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/posts/1') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(POST));
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    stack = await KilnStack.start({ apps: ['gateway', 'worker'], env: { KILN_OUTBOUND_ALLOW: '127.0.0.1' } });
    const tenant = await stack.tenant();
    api = tenant.client;
    tenantId = tenant.id;
  });
  afterAll(async () => {
    await stack?.stop();
    await new Promise((resolve) => server?.close(resolve));
  });

  const post = (path: string, rawBody: string, client = api) =>
    client.request('POST', `/api/ai-automation/code${path}`, { rawBody, headers: { 'content-type': 'application/json' } });
  const execute = (body: unknown) => post('/execute', JSON.stringify(body));

  describe('POST /execute', () => {
    it('example 1, simple calculation', async () => {
      const res = await post('/execute', `{
    "code": "const result = 10 * 5; results.answer = result; console.log(\\"10 * 5 =\\", result);"
  }`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        status: 'success',
        output: '10 * 5 = 50',
        error: null,
        execution_time: expect.any(Number),
        console_logs: ['10 * 5 = 50'],
        return_value: { answer: 50 },
      });
      // Seconds, as a float: a run this small takes well under one.
      expect(res.body.execution_time).toBeGreaterThanOrEqual(0);
      expect(res.body.execution_time).toBeLessThan(1);
    });

    it('example 2, array processing: console_logs format arrays as the document shows', async () => {
      const res = await post('/execute', `{
    "code": "const nums = [1,2,3,4,5]; const evens = nums.filter(n => n % 2 === 0); results.evens = evens; console.log(\\"Evens:\\", evens);"
  }`);
      expect(res.body).toMatchObject({ status: 'success', execution_time: expect.any(Number), console_logs: ['Evens: 2,4'], return_value: { evens: [2, 4] } });
    });

    it('example 3, error handling: the documented shape, with V8\'s own message', async () => {
      const res = await post('/execute', `{
    "code": "try { const x = JSON.parse(\\"invalid\\"); } catch(e) { console.error(\\"JSON error:\\", e.message); results.error = e.message; }"
  }`);
      // The document shows an older V8 ("Unexpected token i"); Node 24's says more. We do not rewrite engine messages.
      let message = '';
      try {
        JSON.parse('invalid');
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toMatch(/^Unexpected token/);
      expect(res.body).toMatchObject({ status: 'success', execution_time: expect.any(Number), console_logs: [`JSON error: ${message}`], return_value: { error: message } });
    });

    const example4 = `{
    "code": "async function demo() { const res = await fetch(\\"https://jsonplaceholder.typicode.com/posts/1\\"); const data = await res.json(); results.post = data; console.log(\\"Post title:\\", data.title); } await demo();"
  }`;

    it('example 4, API integration, as written: no internet here, so the documented error shape', async () => {
      const res = await post('/execute', example4);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'error', output: '', error: expect.any(String), execution_time: expect.any(Number), console_logs: [], return_value: null });
      expect(res.body.error).toMatch(/jsonplaceholder\.typicode\.com|ENOTFOUND|EAI_AGAIN|resolve|DNS|not allowed|blocked/i);
    });

    it('example 4 against a loopback copy of the API: the documented success shape', async () => {
      const res = await post('/execute', example4.replace('https://jsonplaceholder.typicode.com', serverUrl));
      expect(res.body).toEqual({
        status: 'success',
        output: `Post title: ${POST.title}`,
        error: null,
        execution_time: expect.any(Number),
        console_logs: [`Post title: ${POST.title}`],
        return_value: { post: POST },
      });
    });

    it('the request and cURL examples with timeout_ms', async () => {
      const request = await post('/execute', `{
  "code": "const x = 5 + 3; results.sum = x; console.log('Sum:', x);",
  "timeout_ms": 5000
}`);
      expect(request.body).toMatchObject({ status: 'success', console_logs: ['Sum: 8'], return_value: { sum: 8 }, output: 'Sum: 8', error: null });
      const curl = await post('/execute', `{
    "code": "const result = 10 * 5; results.answer = result; console.log(result);",
    "timeout_ms": 5000
  }`);
      expect(curl.body).toMatchObject({ status: 'success', console_logs: ['50'], return_value: { answer: 50 } });
    });

    it('status error for a runtime error, return_value null', async () => {
      const res = await execute({ code: 'console.log(undefinedVar);' });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'error', output: '', error: 'ReferenceError: undefinedVar is not defined', execution_time: expect.any(Number), console_logs: [], return_value: null });
      const partial = await execute({ code: "console.log('before'); null.someProperty;" });
      expect(partial.body).toMatchObject({ status: 'error', output: 'before', console_logs: ['before'], error: expect.stringMatching(/^TypeError: Cannot read properties of null/) });
    });

    it('status timeout: "Execution timeout (>5000ms)" with the default timeout_ms, and the requested one otherwise', async () => {
      const byDefault = await execute({ code: 'while (true) {}' });
      expect(byDefault.status).toBe(200);
      expect(byDefault.body).toMatchObject({ status: 'timeout', error: 'Execution timeout (>5000ms)', console_logs: [], return_value: null });
      expect(byDefault.body.execution_time).toBeGreaterThanOrEqual(4.9);
      expect(byDefault.body.execution_time).toBeLessThan(10);
      const short = await execute({ code: "console.log('waiting'); await new Promise(() => {});", timeout_ms: 1000 });
      expect(short.body).toMatchObject({ status: 'timeout', error: 'Execution timeout (>1000ms)', console_logs: ['waiting'] });
    }, 30_000);

    it('status memory_limit past 128 MB', async () => {
      const res = await execute({ code: 'const keep = []; while (true) keep.push(new Array(100000).fill(Math.random()));', timeout_ms: 20000 });
      expect(res.body).toMatchObject({ status: 'memory_limit', error: expect.any(String), return_value: null });
    }, 30_000);

    it('400 validation_error for what is not run: timeout_ms out of 1000–30000, empty, too long, unmatched brackets', async () => {
      for (const timeout_ms of [999, 30001, 2.5, '5000']) {
        const res = await execute({ code: 'results.x = 1;', timeout_ms });
        expect(res.status).toBe(400);
        expect(res.body).toMatchObject({ status: 'validation_error', error: expect.stringMatching(/^timeout_ms must be/), console_logs: [], return_value: null });
      }
      for (const timeout_ms of [1000, 30000]) expect((await execute({ code: 'results.x = 1;', timeout_ms })).body.status).toBe('success');
      const cases: [unknown, string][] = [
        ['', 'Code cannot be empty'],
        ['   \n ', 'Code cannot be empty'],
        [undefined, 'Code cannot be empty'],
        [`results.x = "${'a'.repeat(10 * 1024)}";`, 'Code exceeds maximum length'],
        ['function f() { return 1;', 'Unmatched curly braces'],
        ['const a = [1, 2;', 'Unmatched square brackets'],
        ["console.log('x';", 'Unmatched parentheses'],
      ];
      for (const [code, error] of cases) {
        const res = await execute({ code });
        expect(res.status).toBe(400);
        expect(res.body).toEqual({ status: 'validation_error', output: '', error, execution_time: 0, console_logs: [], return_value: null });
      }
      const notString = await execute({ code: 42 });
      expect(notString.body).toMatchObject({ status: 'validation_error', error: 'code must be a string' });
    });
  });

  describe('POST /validate', () => {
    it('answers the documented examples', async () => {
      const request = await post('/validate', `{
  "code": "console.log('Hello, World!');"
}`);
      expect(request.status).toBe(200);
      expect(request.body).toEqual({ valid: true, error: null });
      const curl = await post('/validate', '{"code": "console.log(\\"test\\");"}');
      expect(curl.body).toEqual({ valid: true, error: null });
      const braces = await post('/validate', JSON.stringify({ code: 'if (x) { console.log(x);' }));
      expect(braces.body).toEqual({ valid: false, error: 'Unmatched curly braces' });
    });

    it('runs every documented check, ignoring brackets inside strings, templates, regexes and comments', async () => {
      const check = async (code: unknown) => (await post('/validate', JSON.stringify({ code }))).body;
      expect(await check('')).toEqual({ valid: false, error: 'Code cannot be empty' });
      expect(await check('x'.repeat(10 * 1024 + 1))).toEqual({ valid: false, error: 'Code exceeds maximum length' });
      expect(await check('const a = [1, [2];')).toEqual({ valid: false, error: 'Unmatched square brackets' });
      expect(await check('Math.max(1, 2')).toEqual({ valid: false, error: 'Unmatched parentheses' });
      expect(await check("const s = '{[('; const t = `${1 + (2)}`; /[)]/.test(s); // }")).toEqual({ valid: true, error: null });
      expect(await check('const x = ;')).toEqual({ valid: false, error: 'Unexpected token (line 1, column 11)' });
      expect(await check("const fs = require('fs');")).toEqual({
        valid: false,
        error: 'Dangerous pattern detected: require() is not available in the sandbox (no module loader; use fetch or sdk.http)',
      });
      expect((await check("const m = await import('x');")).error).toMatch(/^Dangerous pattern detected: import\(\)/);
      expect((await check("import fs from 'fs';")).error).toMatch(/^Dangerous pattern detected: import declarations are not supported/);
      expect(await check("const require = (n) => n; results.x = require('ok');")).toEqual({ valid: true, error: null });
      expect(await check(42)).toEqual({ valid: false, error: 'code must be a string' });
    });
  });

  describe('templates', () => {
    it('lists the 12 documented templates', async () => {
      const res = await api.get('/api/ai-automation/code/templates');
      expect(res.status).toBe(200);
      expect(res.body.templates.map((t: { id: string }) => t.id)).toEqual(TEMPLATE_IDS);
      expect(res.body.templates.slice(0, 3)).toEqual([
        { id: 'hello_world', name: 'Hello World', description: 'Simple console output - perfect for testing' },
        { id: 'fetch_data', name: 'Fetch Data from API', description: 'Fetch data from an API endpoint and process it' },
        { id: 'process_array', name: 'Process Array Data', description: 'Transform and filter array data' },
      ]);
      const names = Object.fromEntries(res.body.templates.map((t: { id: string; name: string }) => [t.id, t.name]));
      expect(names).toMatchObject({
        loop_example: 'Loop Examples',
        error_handling: 'Error Handling',
        conditional_logic: 'Conditional Logic',
        data_validation: 'Data Validation',
        data_aggregation: 'Data Aggregation',
        async_await: 'Async/Await Pattern',
        object_manipulation: 'Object Manipulation',
        string_operations: 'String Operations',
        mathematical_operations: 'Mathematical Operations',
      });
    });

    it('GET /templates/hello_world answers the documented body; an unknown id is 404', async () => {
      const res = await api.get('/api/ai-automation/code/templates/hello_world');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ id: 'hello_world', name: 'Hello World', description: 'Simple console output - perfect for testing', code: "console.log('Hello, World!');" });
      const missing = await api.get('/api/ai-automation/code/templates/no_such_template');
      expect(missing.status).toBe(404);
      expect(missing.body).toEqual({ detail: 'Template not found' });
    });

    it.each(TEMPLATE_IDS)('template %s validates and runs to status success', async (id) => {
      const template = (await api.get(`/api/ai-automation/code/templates/${id}`)).body as { code: string };
      expect((await post('/validate', JSON.stringify({ code: template.code }))).body).toEqual({ valid: true, error: null });
      // fetch_data reads its URL from input.url (default: jsonplaceholder), so it can reach the loopback copy.
      const res = await execute({ code: template.code, ...(id === 'fetch_data' ? { input: { url: `${serverUrl}/posts/1` } } : {}) });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'success', error: null });
      expect(res.body.console_logs.length).toBeGreaterThan(0);
      if (id === 'fetch_data') expect(res.body.return_value).toMatchObject({ status: 200, post: { id: 1, title: POST.title } });
    });
  });

  it('answers 401 and 403 as {detail}', async () => {
    const anonymous = await api.request('POST', '/api/ai-automation/code/execute', { key: null, body: { code: 'results.x = 1;' } });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toEqual({ detail: expect.any(String) });
    const templates = await api.request('GET', '/api/ai-automation/code/templates', { key: null });
    expect(templates.status).toBe(401);
    const readOnly = await stack.admin().post('/v1/api-keys', { name: 'read-only', tenantId, scopes: ['scripts.read'] });
    const forbidden = await post('/execute', '{"code": "results.x = 1;"}', api.withKey(readOnly.body.key));
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toEqual({ detail: 'API key lacks the scope executions.run' });
    // Validation and templates only need scripts.read.
    expect((await post('/validate', '{"code": "1"}', api.withKey(readOnly.body.key))).status).toBe(200);
  });
});

import { type ApiClient, KilnStack } from '@kiln/testing';

// Document 000 (ApiRun events, `POST /v2/script/run`), its examples sent
// verbatim. The document's ids ("507f1f77bcf86cd799439011", "test-script",
// …) are script *names* here: Kiln runs a script by id or name.
describe('compatibility: ApiRun (document 000)', () => {
  let stack: KilnStack;
  let api: ApiClient;
  let key: string;
  let tenantId: string;

  beforeAll(async () => {
    stack = await KilnStack.start({ apps: ['gateway', 'worker'] });
    const tenant = await stack.tenant();
    api = tenant.client;
    key = tenant.key;
    tenantId = tenant.id;
  });
  afterAll(() => stack?.stop());

  async function createScript(name: string, source: string, extra: Record<string, unknown> = {}) {
    const res = await api.post('/v1/scripts', { name, source, ...extra });
    expect(res.status).toBe(201);
    return res.body as { id: string; name: string };
  }

  /** The document's curl: POST /v2/script/run, JSON body exactly as written, Bearer key. */
  const run = (rawBody: string, options: { key?: string | null; path?: string } = {}) =>
    api.request('POST', options.path ?? '/v2/script/run', { rawBody, headers: { 'content-type': 'application/json' }, key: options.key });

  // "Accessing Request Data", verbatim.
  const accessingRequestData = `module.exports = async ({ API, eventData, requestUser }) => {
  // Query parameters
  const filter = eventData.query?.filter || 'all';
  const limit = parseInt(eventData.query?.limit) || 10;
  
  // Body data
  const action = eventData.body?.action;
  const customData = eventData.body?.data;
  
  // User information
  const userId = requestUser._id;
  const userEmail = requestUser.email;
  
  // Process...
  return { filter, limit, action, customData };
};`;

  it('runs the "Complete Request Example": 200 {success, data, executionTime, scriptId}', async () => {
    const script = await createScript('507f1f77bcf86cd799439011', accessingRequestData);
    const res = await run(`{
    "scriptId": "507f1f77bcf86cd799439011",
    "query": {
      "filter": "active",
      "limit": 100
    },
    "body": {
      "action": "process",
      "data": {
        "customField": "value"
      }
    }
  }`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      success: true,
      data: { filter: 'active', limit: 100, action: 'process', customData: { customField: 'value' } },
      executionTime: expect.any(Number),
      scriptId: script.id,
    });
    expect(Number.isInteger(res.body.executionTime)).toBe(true);
    // The same script by its id, and the key as ?apiKey= (document 000 "Option 2").
    const byId = await run(JSON.stringify({ scriptId: script.id }), { key: null, path: `/v2/script/run?apiKey=${key}` });
    expect(byId.status).toBe(200);
    expect(byId.body).toMatchObject({ success: true, data: { filter: 'all', limit: 10 }, scriptId: script.id });
  });

  it('gives the handler the document\'s event data: eventData, eventName "ApiRun", requestUser, apiKey (prefix only), scriptId, API = sdk', async () => {
    const script = await createScript(
      'your-script-id',
      `module.exports = async (arg) => ({
        eventName: arg.eventName, apiKey: arg.apiKey, scriptId: arg.scriptId, eventData: arg.eventData,
        requestUser: arg.requestUser, api: typeof arg.API.http.get + '/' + typeof arg.API.cache.get, sameAsSdk: arg.API === arg.sdk,
        logger: typeof arg.logger.info, input: arg.input,
      });`,
    );
    // "Testing — Using cURL", verbatim.
    const res = await run(`{
    "scriptId": "your-script-id",
    "query": { "test": true },
    "body": { "data": "sample" }
  }`);
    expect(res.status).toBe(200);
    const data = res.body.data;
    expect(data).toMatchObject({
      eventName: 'ApiRun',
      scriptId: script.id,
      eventData: { query: { test: true }, body: { data: 'sample' } },
      api: 'function/function',
      sameAsSdk: true,
      logger: 'function',
      input: { data: 'sample' },
    });
    // Only the key's display prefix reaches the script, never the key (SPEC §2 stores only its hash).
    expect(data.apiKey).toBe(`${key.slice(0, 8)}…`);
    expect(JSON.stringify(res.body)).not.toContain(key);
    expect(data.requestUser).toMatchObject({ _id: expect.any(String), role: 'user', scopes: expect.arrayContaining(['executions.run']) });
  });

  it('returns what the handler returns as data, even an error object it built itself ("Implementing Error Handling" and "Input Validation")', async () => {
    await createScript(
      'test-script',
      `module.exports = async ({ API, eventData, requestUser, logger }) => {
  try {
    // Validate required parameters
    if (!eventData.body?.accountId) {
      return {
        success: false,
        error: {
          message: 'accountId is required',
          code: 'VALIDATION_ERROR',
        }
      };
    }
    
    // Your logic here
    const result = await processAccount(eventData.body.accountId);
    
    return {
      success: true,
      data: result,
    };
    
  } catch (error) {
    logger.error('Script execution failed', error);
    
    // Return structured error
    return {
      success: false,
      error: {
        message: error.message,
        code: error.code || 'INTERNAL_ERROR',
        details: process.env.NODE_ENV === 'development' ? error.stack : undefined,
      }
    };
  }
};`,
    );
    // "3. Testing & Development", verbatim.
    const res = await run(`{
    "scriptId": "test-script",
    "body": {
      "testData": "sample"
    }
  }`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, data: { success: false, error: { message: 'accountId is required', code: 'VALIDATION_ERROR' } } });

    // With an accountId the example calls an undefined processAccount, and its catch block reads
    // process.env: there is no `process` in Kiln's sandbox, so the script fails for real.
    const failed = await run(JSON.stringify({ scriptId: 'test-script', body: { accountId: 'A1' } }));
    expect(failed.status).toBe(500);
    expect(failed.body.success).toBe(false);
    expect(failed.body.error).toMatchObject({ code: 'INTERNAL_ERROR', statusCode: 500, message: 'Script execution failed: ReferenceError: process is not defined' });

    await createScript(
      'cleanup-duplicates',
      `module.exports = async ({ API, eventData, requestUser, logger }) => {
  // Validate types
  if (typeof eventData.query?.limit !== 'undefined' && 
      isNaN(parseInt(eventData.query.limit))) {
    return {
      success: false,
      error: { message: 'limit must be a number' }
    };
  }
  return { dryRun: eventData.query?.dryRun };
};`,
    );
    // "2. Administrative Operations", verbatim.
    const dry = await run(`{
    "scriptId": "cleanup-duplicates",
    "query": {
      "dryRun": "true"
    }
  }`);
    expect(dry.body).toMatchObject({ success: true, data: { dryRun: 'true' } });
    const invalid = await run(JSON.stringify({ scriptId: 'cleanup-duplicates', query: { limit: 'many' } }));
    expect(invalid.body.data).toEqual({ success: false, error: { message: 'limit must be a number' } });
  });

  it('runs "Example: Data Processing Script": API and logger exist, API.prolibu (a CRM client) does not', async () => {
    const script = await createScript(
      'sync-contacts-script',
      `module.exports = async ({ API, eventData, requestUser, logger }) => {
  const { query, body } = eventData;
  
  try {
    logger.info('Starting data processing', { query, body });
    
    // Fetch records from Prolibu
    const records = await API.prolibu.find('Contact', {
      filter: {
        status: query.filter || 'active',
      },
      select: 'name email mobile',
      limit: parseInt(query.limit) || 100,
    });
    
    logger.info(\`Found \${records.length} records\`);
    
    return { success: true, processed: records.length };
    
  } catch (error) {
    logger.error('Processing failed', error);
    
    return {
      success: false,
      error: error.message,
    };
  }
};`,
    );
    // "1. Manual Data Synchronization", verbatim.
    const res = await run(`{
    "scriptId": "sync-contacts-script",
    "body": {
      "syncDirection": "prolibu-to-salesforce",
      "includeDeleted": false
    }
  }`);
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ success: false, error: "Cannot read properties of undefined (reading 'find')" });
    const executions = await api.get(`/v1/executions?scriptId=${script.id}`);
    const execution = await api.get(`/v1/executions/${executions.body.items[0].id}`);
    expect(execution.body.logs.map((l: { level: string; message: string }) => [l.level, l.message])).toEqual([
      ['info', 'Starting data processing'],
      ['error', 'Processing failed'],
    ]);
  });

  it('answers a throwing script with 500 INTERNAL_ERROR "Script execution failed: …" and the stack in development', async () => {
    await createScript('breaks-on-user', 'module.exports = async ({ requestUser }) => requestUser.profile.name;');
    const res = await run(JSON.stringify({ scriptId: 'breaks-on-user' }));
    expect(res.status).toBe(500);
    expect(res.body).toEqual({
      success: false,
      error: {
        message: "Script execution failed: TypeError: Cannot read properties of undefined (reading 'name')",
        code: 'INTERNAL_ERROR',
        statusCode: 500,
        details: { executionId: expect.any(String), stack: expect.stringContaining('TypeError') },
      },
      executionTime: expect.any(Number),
      scriptId: expect.any(String),
    });
  });

  it('answers a script over its time limit with 504 TIMEOUT', async () => {
    await createScript('spins-forever', 'module.exports = () => { while (true) {} };', { timeoutMs: 300 });
    const res = await run(JSON.stringify({ scriptId: 'spins-forever' }));
    expect(res.status).toBe(504);
    expect(res.body.error).toMatchObject({ code: 'TIMEOUT', statusCode: 504 });
  });

  it('answers the document\'s 401, 403 and 404 bodies', async () => {
    const body = JSON.stringify({ scriptId: '507f1f77bcf86cd799439011' });
    const missing = await run(body, { key: null });
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({ success: false, error: { message: 'Invalid or missing API key', code: 'UNAUTHORIZED', statusCode: 401 } });
    const wrong = await run(body, { key: `ak_${'0'.repeat(64)}` });
    expect(wrong.body).toEqual(missing.body);

    const readOnly = await stack.admin().post('/v1/api-keys', { name: 'read-only', tenantId, scopes: ['scripts.read'] });
    const forbidden = await run(body, { key: readOnly.body.key });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toEqual({ success: false, error: { message: 'Insufficient permissions', code: 'FORBIDDEN', statusCode: 403 } });

    const notFound = await run(JSON.stringify({ scriptId: 'no-such-script' }));
    expect(notFound.status).toBe(404);
    expect(notFound.body).toEqual({
      success: false,
      error: { message: 'Script not found', code: 'NOT_FOUND', statusCode: 404 },
      executionTime: expect.any(Number),
      scriptId: 'no-such-script',
    });
  });

  it('answers malformed requests in the same envelope', async () => {
    const noScript = await run(JSON.stringify({ body: {} }));
    expect(noScript.status).toBe(400);
    expect(noScript.body).toEqual({
      success: false,
      error: { message: 'Request validation failed', code: 'VALIDATION_ERROR', statusCode: 400, details: { fields: [{ field: 'scriptId', message: 'is required' }] } },
    });
    const badJson = await run('{"scriptId": ');
    expect(badJson.status).toBe(400);
    expect(badJson.body).toMatchObject({ success: false, error: { code: 'INVALID_JSON', statusCode: 400 } });
    const paused = await createScript('paused-one', 'module.exports = () => 1;', { status: 'paused' });
    const inactive = await run(JSON.stringify({ scriptId: paused.id }));
    expect(inactive.status).toBe(409);
    expect(inactive.body).toMatchObject({ success: false, error: { code: 'SCRIPT_INACTIVE', statusCode: 409 } });
  });
});

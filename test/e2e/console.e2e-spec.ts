import { type ApiClient, eventually, KilnStack } from '@kiln/testing';

// The web console (SPEC §10, document 001's HTMX endpoints) against a real
// gateway and worker: sign-in cookie, pages, forms, fragments, CSRF, XSS.
// No browser: responses are read as HTML text.

type Form = Record<string, string | string[]>;

interface Page {
  status: number;
  headers: Headers;
  text: string;
}

describe('web console', () => {
  let stack: KilnStack;
  let api: ApiClient;
  let key: string;
  let cookie: string;
  let csrf: string;
  let origin: string;

  /** A browser-like request: cookie, same-origin Origin on writes, no redirect following. */
  async function send(
    method: string,
    path: string,
    options: { form?: Form; htmx?: boolean; headers?: Record<string, string>; cookie?: string | null; token?: boolean } = {},
  ): Promise<Page> {
    const headers: Record<string, string> = {};
    const jar = options.cookie === undefined ? cookie : options.cookie;
    if (jar) headers.cookie = jar;
    if (method !== 'GET') headers.origin = origin;
    if (options.htmx) headers['hx-request'] = 'true';
    if (options.htmx && options.token !== false && method !== 'GET') headers['x-csrf-token'] = csrf;
    let body: string | undefined;
    if (options.form) {
      const params = new URLSearchParams();
      const form: Form = !options.htmx && options.token !== false && method !== 'GET' ? { _csrf: csrf, ...options.form } : options.form;
      for (const [name, value] of Object.entries(form)) for (const v of Array.isArray(value) ? value : [value]) params.append(name, v);
      body = params.toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    const res = await fetch(`${stack.url}${path}`, { method, headers: { ...headers, ...options.headers }, body, redirect: 'manual' });
    return { status: res.status, headers: res.headers, text: await res.text() };
  }

  const scriptIdFrom = (page: Page): string => {
    const location = page.headers.get('location') ?? page.headers.get('hx-redirect') ?? '';
    const match = /^\/scripts\/([0-9a-f-]{36})$/.exec(location);
    if (!match) throw new Error(`no script redirect: ${page.status} ${location} ${page.text.slice(0, 300)}`);
    return match[1] as string;
  };

  const fieldError = (page: Page, field: string): string | undefined =>
    new RegExp(`<p class="error field-error" id="${field}-error" data-field="${field}">([^<]*)</p>`).exec(page.text)?.[1];

  const baseForm = (name: string, extra: Form = {}): Form => ({
    Name: name,
    Description: 'made in the console',
    Source: 'module.exports = async ({ input }) => ({ echo: input ?? null });',
    Type: 'oneoff',
    ...extra,
  });

  async function login(apiKey: string): Promise<string> {
    const res = await send('POST', '/console/login', { form: { apiKey, next: '/scripts' }, cookie: null, token: false });
    expect(res.status).toBe(303);
    const setCookie = res.headers.get('set-cookie') ?? '';
    return setCookie.split(';')[0] as string;
  }

  beforeAll(async () => {
    stack = await KilnStack.start({ apps: ['gateway', 'worker'] });
    origin = stack.url;
    const tenant = await stack.tenant();
    api = tenant.client;
    key = tenant.key;
    cookie = await login(key);
    const list = await send('GET', '/scripts');
    csrf = /name="_csrf" value="([^"]+)"/.exec(list.text)?.[1] ?? '';
    expect(csrf).not.toBe('');
  });
  afterAll(() => stack?.stop());

  it('serves htmx, Monaco and its own files from the gateway, and nothing else from those folders', async () => {
    const js = /^(application|text)\/javascript/;
    for (const [path, type] of [
      ['/console/assets/htmx.min.js', js],
      ['/console/assets/console.js', js],
      ['/console/assets/console.css', /^text\/css/],
      ['/console/assets/vs/loader.js', js],
      ['/console/assets/vs/editor/editor.main.js', js],
      ['/console/assets/vs/editor/editor.main.css', /^text\/css/],
    ] as const) {
      const res = await fetch(`${stack.url}${path}`);
      expect([path, res.status]).toEqual([path, 200]);
      expect(res.headers.get('content-type')).toMatch(type);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      await res.arrayBuffer();
    }
    expect((await fetch(`${stack.url}/console/assets/htmx.min.js`).then((r) => r.text())).startsWith('var htmx=')).toBe(true);
    // The editor pages name Monaco's worker bundles; those are served too.
    const form = await send('GET', '/scripts/new');
    const worker = /data-monaco-editor-worker="([^"]+)"/.exec(form.text)?.[1] ?? '';
    expect(worker).toMatch(/^\/console\/assets\/vs\/assets\/editor\.worker-[\w-]+\.js$/);
    expect((await fetch(`${stack.url}${worker}`)).status).toBe(200);
    for (const path of ['/console/assets/package.json', '/console/assets/htmx.js', '/console/assets/vs/nls/lang/de.d.ts', '/console/assets/%2e%2e/package.json']) {
      expect([path, (await fetch(`${stack.url}${path}`)).status]).toEqual([path, 404]);
    }
  });

  it('sends unauthenticated users to the login page; the login form sets an HttpOnly, SameSite=Strict cookie', async () => {
    const page = await send('GET', '/scripts/new', { cookie: null });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/console/login?next=%2Fscripts%2Fnew');
    const fragment = await send('GET', '/scripts/00000000-0000-4000-8000-000000000000/executions', { cookie: null, htmx: true });
    expect(fragment.status).toBe(401);
    expect(fragment.headers.get('hx-redirect')).toMatch(/^\/console\/login\?next=/);
    const stale = await send('GET', '/scripts', { cookie: `kiln_console=ak_${'0'.repeat(64)}` });
    expect(stale.status).toBe(303);
    expect(stale.headers.get('set-cookie')).toMatch(/^kiln_console=; Path=\/; Max-Age=0/);

    const form = await send('GET', '/console/login?next=/scripts/new', { cookie: null });
    expect(form.status).toBe(200);
    expect(form.headers.get('content-type')).toMatch(/^text\/html/);
    expect(form.text).toContain('<input type="hidden" name="next" value="/scripts/new">');
    expect(form.text).toMatch(/<input id="apiKey" name="apiKey" type="password"/);

    const bad = await send('POST', '/console/login', { form: { apiKey: 'ak_nope' }, cookie: null, token: false });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('set-cookie')).toBeNull();
    expect(bad.text).toContain('That API key is not valid.');

    const ok = await send('POST', '/console/login', { form: { apiKey: key, next: '/scripts/new' }, cookie: null, token: false });
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/scripts/new');
    const set = ok.headers.get('set-cookie') ?? '';
    expect(set).toMatch(new RegExp(`^kiln_console=${key}; Path=/; Max-Age=\\d+; HttpOnly; SameSite=Strict$`));
    // Behind a TLS-terminating proxy the cookie is Secure.
    const tls = await send('POST', '/console/login', { form: { apiKey: key }, cookie: null, token: false, headers: { 'x-forwarded-proto': 'https', origin: origin.replace('http:', 'https:') } });
    expect(tls.headers.get('set-cookie')).toMatch(/; HttpOnly; SameSite=Strict; Secure$/);
    // An open redirect is not possible through next.
    const offsite = await send('POST', '/console/login', { form: { apiKey: key, next: '//evil.example/x' }, cookie: null, token: false });
    expect(offsite.headers.get('location')).toBe('/scripts');
    // A sign-in posted from another site is refused.
    const csrfLogin = await send('POST', '/console/login', { form: { apiKey: key }, cookie: null, token: false, headers: { origin: 'https://evil.example' } });
    expect(csrfLogin.status).toBe(403);
    expect(csrfLogin.headers.get('set-cookie')).toBeNull();
    // The cookie means nothing to the JSON API.
    expect((await fetch(`${stack.url}/v1/scripts`, { headers: { cookie } })).status).toBe(401);
  });

  it('puts a strict CSP, no framing and no caching on every page', async () => {
    const list = await send('GET', '/scripts');
    expect(list.status).toBe(200);
    const csp = list.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self';");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-eval');
    expect(list.headers.get('x-frame-options')).toBe('DENY');
    expect(list.headers.get('cache-control')).toBe('no-store');
    // No inline script anywhere; assets come from this gateway.
    expect(list.text).not.toMatch(/<script(?![^>]*\ssrc="\/console\/assets\/)/);
    expect(list.text).not.toMatch(/\son[a-z]+=/i);
    // Only the Monaco pages allow inline styles (Monaco writes <style> elements).
    const form = await send('GET', '/scripts/new');
    expect(form.headers.get('content-security-policy')).toContain("style-src 'self' 'unsafe-inline'");
  });

  it('creates a script of every Type from the form, mapping fields onto triggers and limits', async () => {
    const form = await send('GET', '/scripts/new');
    expect(form.status).toBe(200);
    for (const name of ['Name', 'Description', 'Type', 'Status', 'CronExpression', 'HTTPPath', 'HTTPMethods', 'EventTypes', 'MaxExecutionTimeMs', 'MaxMemoryBytes']) {
      expect(form.text).toContain(`name="${name}"`);
    }
    expect(form.text).toMatch(/<textarea id="Source" name="Source"[^>]*data-monaco="\/console\/assets\/vs"/);

    const cases: { type: string; extra: Form; triggers: unknown }[] = [
      { type: 'scheduled', extra: { CronExpression: '*/5 * * * *' }, triggers: { cron: '*/5 * * * *' } },
      { type: 'http', extra: { HTTPPath: '/hooks/order', HTTPMethods: ['POST', 'PUT'] }, triggers: { http: { path: 'hooks/order', methods: ['POST', 'PUT'], requireApiKey: false } } },
      { type: 'event', extra: { EventTypes: 'order.created, order.paid' }, triggers: { events: ['order.created', 'order.paid'] } },
      { type: 'oneoff', extra: {}, triggers: null },
      { type: 'embedded', extra: {}, triggers: null },
    ];
    for (const c of cases) {
      const created = await send('POST', '/scripts', { form: baseForm(`typed-${c.type}`, { Type: c.type, MaxExecutionTimeMs: '5000', MaxMemoryBytes: String(32 * 1024 * 1024), ...c.extra }) });
      expect([c.type, created.status]).toEqual([c.type, 303]);
      const id = scriptIdFrom(created);
      const stored = await api.get(`/v1/scripts/${id}`);
      expect(stored.body).toMatchObject({ name: `typed-${c.type}`, status: 'draft', timeoutMs: 5000, memoryMb: 32, triggers: c.triggers, version: 1 });
      const view = await send('GET', `/scripts/${id}`);
      expect(view.status).toBe(200);
      expect(view.text).toContain(`<h1>typed-${c.type}</h1>`);
    }
    // Defaults: 30000 ms and 64 MiB; Status active when chosen. htmx gets HX-Redirect instead of a 303.
    const viaHtmx = await send('POST', '/scripts', { htmx: true, form: baseForm('defaults', { Status: 'active' }) });
    expect(viaHtmx.status).toBe(204);
    const id = scriptIdFrom(viaHtmx);
    expect((await api.get(`/v1/scripts/${id}`)).body).toMatchObject({ status: 'active', timeoutMs: 30000, memoryMb: 64 });

    const list = await send('GET', '/scripts');
    for (const c of cases) expect(list.text).toContain(`>typed-${c.type}</a>`);
    expect(list.text).toMatch(/<tr id="script-[0-9a-f-]{36}">/);
  });

  it('re-renders the form with inline errors (400) and conflicts (409), keeping what was typed', async () => {
    const invalid = await send('POST', '/scripts', {
      form: baseForm('ab', { Type: 'http', HTTPPath: '', MaxMemoryBytes: '1000', MaxExecutionTimeMs: 'soon', Description: 'kept <b>as typed</b>' }),
    });
    expect(invalid.status).toBe(400);
    expect(invalid.text).toContain('<html');
    expect(fieldError(invalid, 'Name')).toBe('must be 3-100 characters');
    expect(fieldError(invalid, 'HTTPPath')).toBe('is required when Type is http');
    expect(fieldError(invalid, 'MaxMemoryBytes')).toMatch(/whole number of MiB/);
    expect(fieldError(invalid, 'MaxExecutionTimeMs')).toMatch(/whole number/);
    expect(invalid.text).toContain('value="kept &lt;b&gt;as typed&lt;/b&gt;"');
    expect(invalid.text).toMatch(/<input id="Name" name="Name" value="ab"[^>]*aria-invalid="true"/);

    // htmx gets just the form back, to swap in place.
    const scheduled = await send('POST', '/scripts', { htmx: true, form: baseForm('no-cron', { Type: 'scheduled', CronExpression: 'every day' }) });
    expect(scheduled.status).toBe(400);
    expect(scheduled.text.startsWith('<form id="script-form"')).toBe(true);
    expect(fieldError(scheduled, 'CronExpression')).toBeTruthy();
    const syntax = await send('POST', '/scripts', { form: baseForm('broken', { Source: 'module.exports = ({ ) => 1;' }) });
    expect(syntax.status).toBe(400);
    expect(fieldError(syntax, 'Source')).toMatch(/line 1, column/);

    expect((await send('POST', '/scripts', { form: baseForm('taken-name') })).status).toBe(303);
    const taken = await send('POST', '/scripts', { form: baseForm('taken-name') });
    expect(taken.status).toBe(409);
    expect(fieldError(taken, 'Name')).toContain('already exists');
    expect((await send('POST', '/scripts', { form: baseForm('route-a', { Type: 'http', HTTPPath: 'shared/path', HTTPMethods: 'POST' }) })).status).toBe(303);
    const route = await send('POST', '/scripts', { form: baseForm('route-b', { Type: 'http', HTTPPath: '/shared/path', HTTPMethods: ['GET', 'POST'] }) });
    expect(route.status).toBe(409);
    expect(fieldError(route, 'HTTPPath')).toContain('POST /shared/path');
  });

  it('edits a script: PUT (htmx) or POST with _method=PUT; a new source makes a new version', async () => {
    const id = scriptIdFrom(await send('POST', '/scripts', { form: baseForm('editable', { Source: 'module.exports = async () => 1; // </textarea><script>alert(1)</script>' }) }));
    const edit = await send('GET', `/scripts/${id}/edit`);
    expect(edit.status).toBe(200);
    expect(edit.text).toContain('value="editable"');
    expect(edit.text).toContain('// &lt;/textarea&gt;&lt;script&gt;alert(1)&lt;/script&gt;</textarea>');
    expect(edit.text).toContain(`hx-put="/scripts/${id}"`);

    const sameSource = 'module.exports = async () => 1; // </textarea><script>alert(1)</script>';
    const renamed = await send('PUT', `/scripts/${id}`, { htmx: true, form: baseForm('edited', { Source: sameSource, Status: 'active' }) });
    expect(renamed.status).toBe(204);
    expect(renamed.headers.get('hx-redirect')).toBe(`/scripts/${id}`);
    expect((await api.get(`/v1/scripts/${id}`)).body).toMatchObject({ name: 'edited', status: 'active', version: 1 });

    const changed = await send('PUT', `/scripts/${id}`, { htmx: true, form: baseForm('edited', { Source: 'module.exports = async () => 2;', Status: 'active' }) });
    expect(changed.status).toBe(204);
    expect((await api.get(`/v1/scripts/${id}`)).body).toMatchObject({ version: 2, source: 'module.exports = async () => 2;' });

    const noJs = await send('POST', `/scripts/${id}`, { form: { _method: 'PUT', ...baseForm('edited', { Source: 'module.exports = async () => 3;', Status: 'paused' }) } });
    expect(noJs.status).toBe(303);
    expect(noJs.headers.get('location')).toBe(`/scripts/${id}`);
    expect((await api.get(`/v1/scripts/${id}`)).body).toMatchObject({ version: 3, status: 'paused' });

    const bad = await send('PUT', `/scripts/${id}`, { htmx: true, form: baseForm('', { Source: '' }) });
    expect(bad.status).toBe(400);
    expect(fieldError(bad, 'Name')).toBeTruthy();
    expect(fieldError(bad, 'Source')).toBe('is required');
    expect(bad.text).toContain(`hx-put="/scripts/${id}"`);
  });

  it('deletes from the list (empty fragment for the row) or with _method=DELETE (back to the list)', async () => {
    const id = scriptIdFrom(await send('POST', '/scripts', { form: baseForm('doomed') }));
    const removed = await send('DELETE', `/scripts/${id}`, { htmx: true, headers: { 'hx-target': `script-${id}` } });
    expect(removed.status).toBe(200);
    expect(removed.text).toBe('');
    expect((await api.get(`/v1/scripts/${id}`)).status).toBe(404);

    const other = scriptIdFrom(await send('POST', '/scripts', { form: baseForm('doomed-too') }));
    const noJs = await send('POST', `/scripts/${other}`, { form: { _method: 'DELETE' } });
    expect(noJs.status).toBe(303);
    expect(noJs.headers.get('location')).toBe('/scripts');
    expect((await api.get(`/v1/scripts/${other}`)).status).toBe(404);
    expect((await send('GET', `/scripts/${other}`)).status).toBe(404);
  });

  it('runs a script: the answer is its execution row, and the polled history shows it complete', async () => {
    const id = scriptIdFrom(
      await send('POST', '/scripts', {
        form: baseForm('slow', { Source: "module.exports = async ({ input }) => { await new Promise((r) => setTimeout(r, 2500)); console.log('<script>alert(1)</script>'); return { got: input, html: '<b>bold</b>' }; };" }),
      }),
    );
    const started = await send('POST', `/scripts/${id}/execute`, { htmx: true, form: { Input: '{"n": 7}' } });
    expect(started.status).toBe(202);
    expect(started.headers.get('hx-trigger')).toBe('kiln-executions-changed');
    const executionId = /<tr id="execution-([0-9a-f-]{36})" class="execution" data-status="(pending|running)">/.exec(started.text)?.[1];
    expect(executionId).toBeDefined();

    const polling = await send('GET', `/scripts/${id}/executions`, { htmx: true });
    expect(polling.text).toMatch(/^<tbody id="executions" hx-get="\/scripts\/[0-9a-f-]{36}\/executions" hx-trigger="kiln-executions-changed from:body, every 2s"/);
    const done = await eventually(
      async () => {
        const page = await send('GET', `/scripts/${id}/executions`, { htmx: true });
        return page.text.includes(`<tr id="execution-${executionId}" class="execution" data-status="completed">`) ? page : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 250, what: 'the execution to complete in the history' },
    );
    expect(done.text).toContain('data-polling="false"');
    expect(done.text).not.toContain('every 2s');
    // Logs and output are user data: escaped.
    expect(done.text).toContain('[log] &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(done.text).not.toContain('<script>alert(1)');
    expect(done.text).toContain('&quot;html&quot;: &quot;&lt;b&gt;bold&lt;/b&gt;&quot;');
    expect(done.text).toContain('&quot;n&quot;: 7');
    const view = await send('GET', `/scripts/${id}`);
    expect(view.text).toContain(`<tr id="execution-${executionId}"`);

    // A browser without JavaScript: the run starts, and the page reloads.
    const noJs = await send('POST', `/scripts/${id}/execute`, { form: {} });
    expect(noJs.status).toBe(303);
    expect(noJs.headers.get('location')).toBe(`/scripts/${id}`);
  });

  it('shows an execution error with the execution id (500) and a timeout message (504)', async () => {
    const failing = scriptIdFrom(await send('POST', '/scripts', { form: baseForm('thrower', { Source: "module.exports = async () => { throw new Error('boom <i>'); };" }) }));
    const failed = await send('POST', `/scripts/${failing}/execute`, { htmx: true, form: {} });
    expect(failed.status).toBe(500);
    const executionId = /<tr id="execution-([0-9a-f-]{36})"/.exec(failed.text)?.[1] ?? '';
    expect(failed.text).toContain(`<strong>EXECUTION_ERROR</strong> in execution <code>${executionId}</code>: Error: boom &lt;i&gt;`);

    const slow = scriptIdFrom(await send('POST', '/scripts', { form: baseForm('spinner', { Source: 'module.exports = async () => { for (;;) {} };', MaxExecutionTimeMs: '200' }) }));
    const timedOut = await send('POST', `/scripts/${slow}/execute`, { htmx: true, form: {} });
    expect(timedOut.status).toBe(504);
    expect(timedOut.text).toMatch(/<p class="error timeout" data-code="TIMEOUT">Timed out: execution <code>[0-9a-f-]{36}<\/code> ran past its limit/);

    const badInput = await send('POST', `/scripts/${slow}/execute`, { htmx: true, form: { Input: '{nope' } });
    expect(badInput.status).toBe(400);
    expect(badInput.headers.get('hx-retarget')).toBe('#flash');
    expect(badInput.text).toMatch(/^<p class="error" role="alert" data-status="400">Input is not valid JSON/);
  });

  it("answers another tenant's script with the 404 page, whatever the route", async () => {
    const other = await stack.tenant();
    const foreign = await other.client.post('/v1/scripts', { name: 'theirs', source: 'module.exports = async () => 1;' });
    expect(foreign.status).toBe(201);
    const id = foreign.body.id as string;
    for (const [method, path, htmx] of [
      ['GET', `/scripts/${id}`, false],
      ['GET', `/scripts/${id}/edit`, false],
      ['GET', `/scripts/${id}/executions`, true],
      ['PUT', `/scripts/${id}`, true],
      ['DELETE', `/scripts/${id}`, true],
      ['POST', `/scripts/${id}/execute`, true],
      ['GET', '/scripts/not-a-script-at-all', false],
    ] as const) {
      const res = await send(method, path, { htmx, form: method === 'GET' || method === 'DELETE' ? undefined : baseForm('mine-now') });
      expect([method, path, res.status]).toEqual([method, path, 404]);
      if (!htmx) expect(res.text).toContain('<h1>404 · Not found</h1>');
    }
    expect((await other.client.get(`/v1/scripts/${id}`)).body).toMatchObject({ name: 'theirs', version: 1 });
  });

  it('escapes user data everywhere: a script named <img src=x onerror=alert(1)>', async () => {
    const name = '<img src=x onerror=alert(1)>';
    const created = await send('POST', '/scripts', { form: baseForm(name, { Description: '"><script>alert(2)</script>', Type: 'event', EventTypes: 'a.b' }) });
    expect(created.status).toBe(303);
    const id = scriptIdFrom(created);
    for (const path of ['/scripts', `/scripts/${id}`, `/scripts/${id}/edit`]) {
      const page = await send('GET', path);
      expect(page.status).toBe(200);
      expect(page.text).not.toContain('<img src=x');
      expect(page.text).not.toContain('<script>alert(2)');
      expect(page.text).toContain('&lt;img src=x onerror=alert(1)&gt;');
    }
    // The same name in the conflict message of a re-rendered form.
    const dup = await send('POST', '/scripts', { form: baseForm(name) });
    expect(dup.status).toBe(409);
    expect(dup.text).not.toContain('<img src=x');
  });

  it('refuses cross-site and token-less writes (CSRF)', async () => {
    const before = (await api.get('/v1/scripts')).body.total as number;
    const crossOrigin = await send('POST', '/scripts', { form: baseForm('csrf-1'), headers: { origin: 'https://evil.example' } });
    expect(crossOrigin.status).toBe(403);
    expect(crossOrigin.text).toContain('Cross-site request refused');
    const crossSite = await send('POST', '/scripts', { form: baseForm('csrf-2'), headers: { 'sec-fetch-site': 'cross-site' } });
    expect(crossSite.status).toBe(403);
    const badReferer = await send('POST', '/scripts', { form: baseForm('csrf-3'), headers: { origin: '', referer: 'https://evil.example/page' } });
    expect(badReferer.status).toBe(403);
    const noToken = await send('POST', '/scripts', { form: baseForm('csrf-4'), token: false });
    expect(noToken.status).toBe(403);
    expect(noToken.text).toContain('CSRF token');
    const wrongToken = await send('POST', '/scripts', { form: { ...baseForm('csrf-5'), _csrf: 'x'.repeat(43) }, token: false });
    expect(wrongToken.status).toBe(403);
    const htmxNoToken = await send('DELETE', '/scripts/00000000-0000-4000-8000-000000000000', { htmx: true, token: false });
    expect(htmxNoToken.status).toBe(403);
    expect((await api.get('/v1/scripts')).body.total).toBe(before);
    // Sign-out needs the token too.
    expect((await send('POST', '/console/logout', { form: {}, token: false })).status).toBe(403);
  });

  it('shows the 403 page to a key without the scope, and signs out', async () => {
    const admin = stack.admin();
    const readOnly = await admin.post('/v1/api-keys', { name: 'ro', tenantId: (await stack.tenant()).id, scopes: ['scripts.read'] });
    expect(readOnly.status).toBe(201);
    const roCookie = await login(readOnly.body.key);
    const list = await send('GET', '/scripts', { cookie: roCookie });
    expect(list.status).toBe(200);
    expect(list.text).not.toContain('href="/scripts/new"');
    const forbidden = await send('GET', '/scripts/new', { cookie: roCookie });
    expect(forbidden.status).toBe(403);
    expect(forbidden.text).toContain('<h1>403 · Forbidden</h1>');
    expect(forbidden.text).toContain('scripts.write');

    const noRead = await admin.post('/v1/api-keys', { name: 'runner', tenantId: (await stack.tenant()).id, scopes: ['executions.run'] });
    const refused = await send('POST', '/console/login', { form: { apiKey: noRead.body.key }, cookie: null, token: false });
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('scripts.read');

    const out = await send('POST', '/console/logout', { form: {} });
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/console/login');
    expect(out.headers.get('set-cookie')).toMatch(/^kiln_console=; Path=\/; Max-Age=0; HttpOnly; SameSite=Strict/);
  });
});

import type { ExecutionView } from '@kiln/core';
import { KilnError } from '@kiln/core';
import type { FastifyRequest } from 'fastify';
import { consoleAssetAllowed } from './console-assets';
import { emptyFormValues, formErrorsFrom, formValuesFrom, formValuesFromScript, parseScriptForm, type ScriptFormValues } from './console-form';
import { escapeHtml, html } from './console-html';
import { contentSecurityPolicy, crossSiteReason, csrfToken, csrfTokenMatches, readCookie, safeNext, sessionCookie } from './console-security';
import { executionRow, executionRows } from './console-views';

const values = (overrides: Partial<ScriptFormValues>): ScriptFormValues => ({ ...emptyFormValues(), Name: 'valid-name', ...overrides });

describe('console html', () => {
  it('escapes every interpolated value, nested templates pass through once', () => {
    const name = `<img src=x onerror="alert('1')">&\``;
    expect(escapeHtml(name)).toBe('&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;&#96;');
    const inner = html`<b>${name}</b>`;
    expect(html`<p title="${name}">${inner}${[html`<i>${'<'}</i>`, '>']}${false}${null}${undefined}${3}</p>`.value).toBe(
      '<p title="&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;&#96;"><b>&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;&#96;</b><i>&lt;</i>&gt;3</p>',
    );
  });

  it('renders execution logs, outputs and errors as text', () => {
    const view: ExecutionView = {
      id: '01a2b3c4-0000-7000-8000-000000000001',
      status: 'failed',
      scriptId: 's',
      scriptVersion: 2,
      trigger: { type: 'manual' },
      input: null,
      output: null,
      logs: [{ level: 'warn', message: '</pre><script>alert(1)</script>', time: '2026-01-01T00:00:00.000Z' }],
      logsTruncated: false,
      error: { code: 'EXECUTION_ERROR', message: 'Error: <svg onload=alert(1)>', stack: '<script>' },
      attempts: 1,
      workerId: null,
      retryOf: null,
      metadata: null,
      approval: null,
      approvalStatus: null,
      approvalComment: null,
      createdAt: '2026-01-01T00:00:00.000Z',
      startedAt: null,
      finishedAt: null,
      durationMs: 5,
      queueWaitMs: 1,
    };
    const row = executionRow(view).value;
    expect(row).not.toMatch(/<script>|<svg/);
    expect(row).toContain('[warn] &lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(row).toContain(`<strong>EXECUTION_ERROR</strong> in execution <code>${view.id}</code>: Error: &lt;svg onload=alert(1)&gt;`);
    const timeout = executionRow({ ...view, error: { code: 'TIMEOUT', message: 'Script exceeded 100 ms' } }).value;
    expect(timeout).toContain('data-code="TIMEOUT">Timed out: execution');
    // The history polls only while something is pending or running.
    expect(executionRows('s', [view]).value).not.toContain('every');
    expect(executionRows('s', [{ ...view, status: 'running' }]).value).toContain('hx-trigger="kiln-executions-changed from:body, every 2s"');
  });
});

describe('console form mapping (document 001 → Kiln script fields)', () => {
  it('maps each Type onto triggers, and bytes onto MiB', () => {
    const scheduled = parseScriptForm(values({ Type: 'scheduled', CronExpression: '0 * * * *', MaxMemoryBytes: String(128 * 1024 * 1024), MaxExecutionTimeMs: '1000' }));
    expect(scheduled.errors).toEqual({});
    expect(scheduled.input).toMatchObject({ status: 'draft', memoryMb: 128, timeoutMs: 1000, triggers: { cron: '0 * * * *' } });
    const http = parseScriptForm(formValuesFrom({ Name: 'hook', Source: '1', Type: 'http', HTTPPath: 'a/b', HTTPMethods: ['post', 'GET'] }));
    expect(http.input?.triggers).toEqual({ http: { path: 'a/b', methods: ['POST', 'GET'], requireApiKey: false } });
    const event = parseScriptForm(formValuesFrom({ Name: 'evented', Source: '1', Type: 'event', EventTypes: 'a.b,\r\nc.d  e.f' }));
    expect(event.input?.triggers).toEqual({ events: ['a.b', 'c.d', 'e.f'] });
    for (const type of ['oneoff', 'embedded']) expect(parseScriptForm(values({ Type: type, CronExpression: 'ignored' })).input?.triggers).toBeNull();
    // Defaults: 30000 ms, 64 MiB, draft.
    expect(parseScriptForm(values({ MaxExecutionTimeMs: '', MaxMemoryBytes: '', Status: '' })).input).toMatchObject({ timeoutMs: 30000, memoryMb: 64, status: 'draft' });
  });

  it('reports problems per form field, with the native rules', () => {
    const { input, errors } = parseScriptForm(
      values({ Name: 'x', Type: 'http', HTTPMethods: ['FETCH'], MaxMemoryBytes: String(64 * 1024 * 1024 + 1), MaxExecutionTimeMs: '50', Description: 'd'.repeat(501), Source: '' }),
    );
    expect(input).toBeNull();
    expect(Object.keys(errors).sort()).toEqual(['Description', 'HTTPMethods', 'HTTPPath', 'MaxExecutionTimeMs', 'MaxMemoryBytes', 'Name', 'Source']);
    expect(parseScriptForm(values({ Type: 'bogus' })).errors.Type).toMatch(/scheduled, http, event, oneoff, embedded/);
    expect(parseScriptForm(values({ Type: 'event' })).errors.EventTypes).toMatch(/at least one/);
    expect(parseScriptForm(values({ Type: 'scheduled' })).errors.CronExpression).toMatch(/required/);
  });

  it('keeps what the form cannot show when editing (timezone, requireApiKey)', () => {
    const cron = parseScriptForm(values({ Type: 'scheduled', CronExpression: '0 9 * * *' }), { cron: '0 8 * * *', timezone: 'Europe/Paris' });
    expect(cron.input?.triggers).toEqual({ cron: '0 9 * * *', timezone: 'Europe/Paris' });
    const http = parseScriptForm(values({ Type: 'http', HTTPPath: 'p', HTTPMethods: ['GET'] }), { http: { path: 'p', methods: ['GET'], requireApiKey: true } });
    expect(http.input?.triggers?.http?.requireApiKey).toBe(true);
  });

  it('reads a stored script back into the form', () => {
    const script = {
      name: 'n',
      description: null,
      source: 'src',
      status: 'active',
      timeoutMs: 500,
      memoryMb: 16,
      triggers: { http: { path: 'x', methods: ['PUT'], requireApiKey: false } },
    } as unknown as Parameters<typeof formValuesFromScript>[0];
    expect(formValuesFromScript(script)).toMatchObject({ Type: 'http', HTTPPath: 'x', HTTPMethods: ['PUT'], MaxMemoryBytes: String(16 * 1024 * 1024), MaxExecutionTimeMs: '500', Description: '' });
  });

  it('turns service errors into inline form errors', () => {
    expect(formErrorsFrom(KilnError.validation([{ field: 'triggers.cron', message: 'bad cron' }]))).toEqual({ status: 400, errors: { CronExpression: 'bad cron' } });
    expect(formErrorsFrom(KilnError.conflict('HTTP_ROUTE_TAKEN', 'taken'))).toEqual({ status: 409, errors: { HTTPPath: 'taken' } });
    expect(formErrorsFrom(KilnError.conflict('SCRIPT_NAME_TAKEN', 'dup'))).toEqual({ status: 409, errors: { Name: 'dup' } });
    expect(formErrorsFrom(KilnError.notFound('Script'))).toBeNull();
    expect(formErrorsFrom(new Error('x'))).toBeNull();
  });
});

describe('console security helpers', () => {
  const request = (headers: Record<string, string>, protocol = 'http'): FastifyRequest => ({ headers, protocol, host: 'kiln.local:3000' }) as unknown as FastifyRequest;

  it('judges same-origin by Sec-Fetch-Site, Origin, then Referer', () => {
    expect(crossSiteReason(request({ origin: 'http://kiln.local:3000' }), undefined)).toBeNull();
    expect(crossSiteReason(request({ origin: 'https://console.example' }), 'https://console.example/base')).toBeNull();
    expect(crossSiteReason(request({ origin: 'https://evil.example' }), undefined)).toMatch(/Origin/);
    expect(crossSiteReason(request({ origin: 'null' }), undefined)).toMatch(/Origin/);
    expect(crossSiteReason(request({ 'sec-fetch-site': 'cross-site', origin: 'http://kiln.local:3000' }), undefined)).toMatch(/Sec-Fetch-Site/);
    expect(crossSiteReason(request({ referer: 'http://kiln.local:3000/scripts' }), undefined)).toBeNull();
    expect(crossSiteReason(request({ referer: 'http://kiln.local:3001/scripts' }), undefined)).toMatch(/Referer/);
    expect(crossSiteReason(request({}), undefined)).toBeNull();
  });

  it('derives a per-key CSRF token and compares it in constant time', () => {
    const key = `ak_${'a'.repeat(64)}`;
    expect(csrfTokenMatches(key, csrfToken(key))).toBe(true);
    expect(csrfTokenMatches(key, csrfToken(`ak_${'b'.repeat(64)}`))).toBe(false);
    expect(csrfTokenMatches(key, undefined)).toBe(false);
    expect(csrfTokenMatches(key, 'short')).toBe(false);
  });

  it('reads and writes the session cookie', () => {
    expect(readCookie('a=1; kiln_console=ak_x; b=2', 'kiln_console')).toBe('ak_x');
    expect(readCookie('xkiln_console=1', 'kiln_console')).toBeUndefined();
    expect(sessionCookie('ak_x', true)).toBe('kiln_console=ak_x; Path=/; Max-Age=28800; HttpOnly; SameSite=Strict; Secure');
  });

  it('only redirects to console pages after sign-in', () => {
    expect(safeNext('/scripts/abc/edit')).toBe('/scripts/abc/edit');
    expect(safeNext('/scripts?offset=50')).toBe('/scripts?offset=50');
    for (const bad of ['//evil.example', 'https://evil.example', '/scripts//evil', '/\\evil', '/v1/scripts', '/console/login', 42]) expect(safeNext(bad)).toBe('/scripts');
  });

  it('allows inline styles only where Monaco runs, and serves only the asset files it lists', () => {
    expect(contentSecurityPolicy(false)).toContain("style-src 'self';");
    expect(contentSecurityPolicy(true)).toContain("style-src 'self' 'unsafe-inline'");
    for (const ok of ['/console.js', '/htmx.min.js', '/vs/loader.js', '/vs/editor/editor.main.css', '/vs/assets/ts.worker-g3pjEjl4.js']) expect(consoleAssetAllowed(ok)).toBe(true);
    for (const bad of ['/htmx.js', '/package.json', '/vs/../package.json', '/vs/nls/lang/de.d.ts', '/vs/loader.js.map', '/console.ts']) expect(consoleAssetAllowed(bad)).toBe(false);
  });
});

import type { ExecutionView } from '@kiln/core';
import type { Script, ScriptWithSource } from '@kiln/db';
import { ASSETS_PREFIX, MONACO_BASE, type MonacoWorkers } from './console-assets';
import { SCRIPT_TYPES, scriptTypeOf, storedTriggers, triggerKinds, type FormErrors, type FormField, type ScriptFormValues } from './console-form';
import { html, seg, type HtmlValue, type SafeHtml } from './console-html';
import { CSRF_FIELD, LOGIN_PATH } from './console-security';

/** Who is signed in, and what their key may do (buttons the key cannot use are not shown). */
export interface ConsoleSession {
  tenantSlug: string;
  keyPrefix: string;
  csrf: string;
  canWrite: boolean;
  canRun: boolean;
  canReadExecutions: boolean;
}

/** How often the execution history refreshes while a run is pending or running. */
export const POLL_SECONDS = 2;
/** Rows in the execution history (each with its output and logs). */
export const HISTORY_ROWS = 10;
const OUTPUT_PREVIEW_CHARS = 8_000;
const LOG_PREVIEW_LINES = 200;
const LOG_LINE_CHARS = 2_000;

// htmx without eval, inline <style> or <script> processing, and with error
// answers swapped too: the console's 4xx/5xx fragments are meant to be shown.
const HTMX_CONFIG = JSON.stringify({
  allowEval: false,
  allowScriptTags: false,
  includeIndicatorStyles: false,
  selfRequestsOnly: true,
  historyCacheSize: 0,
  responseHandling: [
    { code: '204', swap: false },
    { code: '...', swap: true },
  ],
});

function when(condition: boolean, value: SafeHtml): SafeHtml | false {
  return condition ? value : false;
}

export function layout(options: { title: string; session: ConsoleSession | null; body: HtmlValue }): SafeHtml {
  const { session } = options;
  const headers = session ? JSON.stringify({ 'X-CSRF-Token': session.csrf }) : false;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="htmx-config" content="${HTMX_CONFIG}">
<title>${options.title} · Kiln</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${ASSETS_PREFIX}console.css">
<script src="${ASSETS_PREFIX}htmx.min.js" defer></script>
<script src="${ASSETS_PREFIX}console.js" defer></script>
</head>
<body${headers ? html` hx-headers="${headers}"` : false}>
<header class="top">
  <a class="brand" href="/scripts">Kiln</a>
  ${when(
    session !== null,
    html`<nav><a href="/scripts">Scripts</a>${session?.canWrite ? html` <a href="/scripts/new">New script</a>` : false}</nav>
  <span class="who">tenant <strong>${session?.tenantSlug}</strong> · key <code>${session?.keyPrefix}…</code></span>
  <form method="post" action="/console/logout" class="inline"><input type="hidden" name="${CSRF_FIELD}" value="${session?.csrf}"><button type="submit" class="link">Sign out</button></form>`,
  )}
</header>
<main id="main">
<div id="flash" role="status" aria-live="polite"></div>
${options.body}
</main>
</body>
</html>
`;
}

export function loginPage(options: { error?: string; next?: string }): SafeHtml {
  return layout({
    title: 'Sign in',
    session: null,
    body: html`<section class="card narrow">
<h1>Sign in</h1>
<p>Paste an API key of your tenant (<code>ak_…</code>). It is kept in an HttpOnly cookie for this browser only.</p>
${options.error ? html`<p class="error" role="alert" id="login-error">${options.error}</p>` : false}
<form method="post" action="${LOGIN_PATH}">
  <input type="hidden" name="next" value="${options.next ?? '/scripts'}">
  <label for="apiKey">API key</label>
  <input id="apiKey" name="apiKey" type="password" autocomplete="off" spellcheck="false" required${options.error ? html` aria-invalid="true" aria-describedby="login-error"` : false}>
  <button type="submit">Sign in</button>
</form>
</section>`,
  });
}

export function errorPage(session: ConsoleSession | null, status: number, title: string, message: string, extra?: HtmlValue): SafeHtml {
  return layout({
    title,
    session,
    body: html`<section class="card error-page" data-status="${status}">
<h1>${status} · ${title}</h1>
<p>${message}</p>
${extra}
<p><a href="/scripts">Back to scripts</a></p>
</section>`,
  });
}

/** For htmx requests: a message in the page's flash area (the response retargets #flash). */
export function errorFragment(status: number, message: string): SafeHtml {
  return html`<p class="error" role="alert" data-status="${status}">${message}</p>`;
}

function fmtTime(date: Date | string | null): SafeHtml | string {
  if (!date) return '—';
  const iso = typeof date === 'string' ? date : date.toISOString();
  return html`<time datetime="${iso}">${iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</time>`;
}

function statusBadge(status: string): SafeHtml {
  return html`<span class="badge badge-${status}">${status.replace('_', ' ')}</span>`;
}

function typeLabel(script: Script): string {
  const triggers = storedTriggers(script);
  const kinds = triggerKinds(triggers);
  return kinds > 1 ? 'several triggers' : scriptTypeOf(triggers);
}

export function scriptRow(session: ConsoleSession, script: Script): SafeHtml {
  const url = `/scripts/${seg(script.id)}`;
  return html`<tr id="script-${script.id}">
  <td><a href="${url}">${script.name}</a>${script.description ? html`<div class="muted">${script.description}</div>` : false}</td>
  <td>${statusBadge(script.status)}</td>
  <td>${typeLabel(script)}</td>
  <td>v${script.currentVersion}</td>
  <td>${fmtTime(script.updatedAt)}</td>
  <td class="actions">${when(
    session.canWrite,
    html`<a href="${url}/edit">Edit</a>
    <form method="post" action="${url}" class="inline"><input type="hidden" name="_method" value="DELETE"><input type="hidden" name="${CSRF_FIELD}" value="${session.csrf}"><button type="submit" class="link danger" hx-delete="${url}" hx-params="none" hx-target="closest tr" hx-swap="outerHTML" hx-confirm="Delete script ${script.name}? Its executions stay readable.">Delete</button></form>`,
  )}</td>
</tr>`;
}

export function scriptsListPage(session: ConsoleSession, page: { items: Script[]; total: number; limit: number; offset: number }): SafeHtml {
  const { items, total, limit, offset } = page;
  const prev = offset > 0 ? Math.max(0, offset - limit) : null;
  const next = offset + items.length < total ? offset + limit : null;
  return layout({
    title: 'Scripts',
    session,
    body: html`<div class="heading"><h1>Scripts</h1>${when(session.canWrite, html`<a class="button" href="/scripts/new">New script</a>`)}</div>
<table class="scripts" id="scripts">
<thead><tr><th>Name</th><th>Status</th><th>Type</th><th>Version</th><th>Updated</th><th></th></tr></thead>
<tbody>
${items.length === 0 ? html`<tr class="empty"><td colspan="6">No scripts yet.${when(session.canWrite, html` <a href="/scripts/new">Create one</a>.`)}</td></tr>` : items.map((s) => scriptRow(session, s))}
</tbody>
</table>
<p class="muted pager">${total} script${total === 1 ? '' : 's'}${
      prev !== null ? html` · <a href="/scripts?offset=${String(prev)}">newer</a>` : false
    }${next !== null ? html` · <a href="/scripts?offset=${String(next)}">older</a>` : false}</p>`,
  });
}

function fieldError(errors: FormErrors, field: FormField): SafeHtml | false {
  const message = errors[field];
  return message ? html`<p class="error field-error" id="${field}-error" data-field="${field}">${message}</p>` : false;
}

function invalid(errors: FormErrors, field: FormField): SafeHtml | false {
  return errors[field] ? html` aria-invalid="true" aria-describedby="${field}-error"` : false;
}

function selected(on: boolean): SafeHtml | false {
  return on ? html` selected` : false;
}

const HTTP_METHOD_CHOICES = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/**
 * The create and edit form. Without JavaScript it posts (edit: with
 * `_method=PUT`); with htmx it sends POST or PUT and, on a validation error
 * or conflict, this form comes back with its messages and replaces itself.
 */
export function scriptForm(options: {
  session: ConsoleSession;
  mode: 'new' | 'edit';
  scriptId?: string;
  values: ScriptFormValues;
  errors: FormErrors;
  notice?: string;
  monaco: MonacoWorkers | null;
}): SafeHtml {
  const { values, errors, session, monaco } = options;
  const action = options.mode === 'new' ? '/scripts' : `/scripts/${seg(options.scriptId ?? '')}`;
  const verb = options.mode === 'new' ? html`hx-post="${action}"` : html`hx-put="${action}"`;
  const hasErrors = Object.keys(errors).length > 0;
  const methods = new Set(values.HTTPMethods);
  const extraMethods = values.HTTPMethods.filter((m) => !(HTTP_METHOD_CHOICES as readonly string[]).includes(m));
  return html`<form id="script-form" class="card script-form" method="post" action="${action}" ${verb} hx-target="this" hx-swap="outerHTML" novalidate>
  <input type="hidden" name="${CSRF_FIELD}" value="${session.csrf}">
  ${when(options.mode === 'edit', html`<input type="hidden" name="_method" value="PUT">`)}
  ${options.notice ? html`<p class="notice">${options.notice}</p>` : false}
  ${hasErrors ? html`<p class="error" role="alert">Please correct the fields marked below.</p>` : false}
  ${errors.form ? html`<p class="error" data-field="form">${errors.form}</p>` : false}
  <div class="grid">
    <div class="field"><label for="Name">Name</label>
      <input id="Name" name="Name" value="${values.Name}" maxlength="100" autocomplete="off"${invalid(errors, 'Name')}>${fieldError(errors, 'Name')}</div>
    <div class="field"><label for="Type">Type</label>
      <select id="Type" name="Type" data-type-switch${invalid(errors, 'Type')}>
        ${SCRIPT_TYPES.map((t) => html`<option value="${t}"${selected(values.Type === t)}>${t}</option>`)}
        ${(SCRIPT_TYPES as readonly string[]).includes(values.Type) || values.Type === '' ? false : html`<option value="${values.Type}" selected>${values.Type}</option>`}
      </select>${fieldError(errors, 'Type')}</div>
    <div class="field"><label for="Status">Status</label>
      <select id="Status" name="Status"${invalid(errors, 'Status')}>
        ${['draft', 'active', 'paused'].map((s) => html`<option value="${s}"${selected(values.Status === s)}>${s}</option>`)}
      </select>${fieldError(errors, 'Status')}</div>
    <div class="field wide"><label for="Description">Description</label>
      <input id="Description" name="Description" value="${values.Description}" maxlength="500"${invalid(errors, 'Description')}>${fieldError(errors, 'Description')}</div>
    <div class="field" data-for-type="scheduled"><label for="CronExpression">CronExpression <span class="muted">(Type scheduled)</span></label>
      <input id="CronExpression" name="CronExpression" value="${values.CronExpression}" placeholder="*/5 * * * *"${invalid(errors, 'CronExpression')}>${fieldError(errors, 'CronExpression')}</div>
    <div class="field" data-for-type="http"><label for="HTTPPath">HTTPPath <span class="muted">(Type http: /x/${session.tenantSlug}/…)</span></label>
      <input id="HTTPPath" name="HTTPPath" value="${values.HTTPPath}" placeholder="orders/created"${invalid(errors, 'HTTPPath')}>${fieldError(errors, 'HTTPPath')}</div>
    <fieldset class="field" data-for-type="http"${invalid(errors, 'HTTPMethods')}><legend>HTTPMethods <span class="muted">(Type http)</span></legend>
      ${HTTP_METHOD_CHOICES.map((m) => html`<label class="check"><input type="checkbox" name="HTTPMethods" value="${m}"${methods.has(m) ? html` checked` : false}> ${m}</label>`)}
      ${extraMethods.map((m) => html`<label class="check"><input type="checkbox" name="HTTPMethods" value="${m}" checked> ${m}</label>`)}
      ${fieldError(errors, 'HTTPMethods')}</fieldset>
    <div class="field" data-for-type="event"><label for="EventTypes">EventTypes <span class="muted">(Type event; comma separated)</span></label>
      <input id="EventTypes" name="EventTypes" value="${values.EventTypes}" placeholder="order.created, order.paid"${invalid(errors, 'EventTypes')}>${fieldError(errors, 'EventTypes')}</div>
    <div class="field"><label for="MaxExecutionTimeMs">MaxExecutionTimeMs</label>
      <input id="MaxExecutionTimeMs" name="MaxExecutionTimeMs" value="${values.MaxExecutionTimeMs}" inputmode="numeric"${invalid(errors, 'MaxExecutionTimeMs')}>${fieldError(errors, 'MaxExecutionTimeMs')}</div>
    <div class="field"><label for="MaxMemoryBytes">MaxMemoryBytes <span class="muted">(whole MiB)</span></label>
      <input id="MaxMemoryBytes" name="MaxMemoryBytes" value="${values.MaxMemoryBytes}" inputmode="numeric"${invalid(errors, 'MaxMemoryBytes')}>${fieldError(errors, 'MaxMemoryBytes')}</div>
    <div class="field wide"><label for="Source">Source</label>
      <textarea id="Source" name="Source" rows="18" spellcheck="false" class="code"
        data-monaco="${monaco ? MONACO_BASE : ''}" data-monaco-editor-worker="${monaco?.editor ?? ''}" data-monaco-ts-worker="${monaco?.typescript ?? ''}"${invalid(errors, 'Source')}>${values.Source}</textarea>${fieldError(errors, 'Source')}</div>
  </div>
  <div class="buttons">
    <button type="submit">${options.mode === 'new' ? 'Create script' : 'Save'}</button>
    <a href="${options.mode === 'new' ? '/scripts' : action}">Cancel</a>
  </div>
</form>`;
}

export function scriptFormPage(options: Parameters<typeof scriptForm>[0]): SafeHtml {
  const title = options.mode === 'new' ? 'New script' : `Edit ${options.values.Name}`;
  return layout({ title, session: options.session, body: html`<h1>${title}</h1>${scriptForm(options)}` });
}

function triggersDetail(script: Script, tenantSlug: string): SafeHtml {
  const t = storedTriggers(script);
  const parts: SafeHtml[] = [];
  if (t?.cron) parts.push(html`<li>cron <code>${t.cron}</code>${t.timezone ? html` (${t.timezone})` : false}</li>`);
  if (t?.http) parts.push(html`<li>HTTP ${t.http.methods.join(', ')} <code>/x/${tenantSlug}/${t.http.path}</code>${t.http.requireApiKey ? ' (API key required)' : false}</li>`);
  if (t?.events && t.events.length > 0) parts.push(html`<li>events ${t.events.map((e, i) => html`${i > 0 ? ', ' : ''}<code>${e}</code>`)}</li>`);
  return parts.length > 0 ? html`<ul class="plain">${parts}</ul>` : html`<span class="muted">none (runs by hand or over the API)</span>`;
}

export function scriptViewPage(session: ConsoleSession, script: ScriptWithSource, history: SafeHtml): SafeHtml {
  const url = `/scripts/${seg(script.id)}`;
  return layout({
    title: script.name,
    session,
    body: html`<div class="heading"><h1>${script.name}</h1>
  <div class="actions">${when(
    session.canWrite,
    html`<a class="button secondary" href="${url}/edit">Edit</a>
    <form method="post" action="${url}" class="inline"><input type="hidden" name="_method" value="DELETE"><input type="hidden" name="${CSRF_FIELD}" value="${session.csrf}"><button type="submit" class="danger" hx-post="${url}" hx-confirm="Delete script ${script.name}? Its executions stay readable.">Delete</button></form>`,
  )}</div></div>
${script.description ? html`<p class="description">${script.description}</p>` : false}
<section class="card">
<dl class="details">
  <dt>Id</dt><dd><code>${script.id}</code></dd>
  <dt>Status</dt><dd>${statusBadge(script.status)}</dd>
  <dt>Type</dt><dd>${typeLabel(script)}</dd>
  <dt>Triggers</dt><dd>${triggersDetail(script, session.tenantSlug)}</dd>
  <dt>Version</dt><dd>v${script.currentVersion}</dd>
  <dt>Limits</dt><dd>${String(script.timeoutMs)} ms · ${String(script.memoryMb)} MiB</dd>
  <dt>Created</dt><dd>${fmtTime(script.createdAt)}</dd>
  <dt>Updated</dt><dd>${fmtTime(script.updatedAt)}</dd>
</dl>
<details class="source"><summary>Source (v${script.currentVersion})</summary><pre><code>${script.source}</code></pre></details>
</section>
<section class="card">
<div class="heading"><h2>Executions</h2>
${when(
  session.canRun,
  // Without executions.read there is no history to add the row to: the plain form reloads the page instead.
  html`<form method="post" action="${url}/execute"${session.canReadExecutions ? html` hx-post="${url}/execute" hx-target="#executions" hx-swap="afterbegin"` : false} class="run-form">
  <input type="hidden" name="${CSRF_FIELD}" value="${session.csrf}">
  <label for="Input" class="muted">Input (JSON, optional)</label>
  <input id="Input" name="Input" placeholder='{"a": 1}' autocomplete="off" spellcheck="false">
  <button type="submit">Run</button>
</form>`,
)}</div>
${
  session.canReadExecutions
    ? html`<table class="executions">
<thead><tr><th>Execution</th><th>Status</th><th>Trigger</th><th>Created</th><th>Duration</th><th>Result</th><th>Logs</th></tr></thead>
${history}
</table>`
    : html`<p class="muted">This key lacks the <code>executions.read</code> scope, so the history is hidden.</p>`
}
</section>`,
  });
}

function preview(text: string, limit: number): string {
  return text.length > limit ? `${text.slice(0, limit)}\n… (${text.length - limit} more characters; GET /v1/executions/:id has all of it)` : text;
}

function json(value: unknown): string {
  try {
    return JSON.stringify(value, null, 2) ?? 'undefined';
  } catch {
    return String(value);
  }
}

/** What document 001 asks for a failed run: the message with the execution id (500), or a timeout message (504). */
function resultCell(e: ExecutionView): SafeHtml {
  switch (e.status) {
    case 'completed':
      return html`<details><summary>output</summary><pre class="output">${preview(json(e.output), OUTPUT_PREVIEW_CHARS)}</pre></details>`;
    case 'failed': {
      const error = e.error;
      if (error?.code === 'TIMEOUT') {
        return html`<p class="error timeout" data-code="TIMEOUT">Timed out: execution <code>${e.id}</code> ran past its limit. ${error.message}</p>`;
      }
      return html`<p class="error" data-code="${error?.code ?? 'ERROR'}"><strong>${error?.code ?? 'ERROR'}</strong> in execution <code>${e.id}</code>: ${error?.message ?? 'failed'}</p>${
        error?.stack ? html`<details><summary>stack</summary><pre>${preview(error.stack, OUTPUT_PREVIEW_CHARS)}</pre></details>` : false
      }`;
    }
    case 'cancelled':
      return html`<span class="muted">cancelled</span>`;
    case 'pending_approval':
      return html`<span class="muted">waiting for approval</span>`;
    case 'pending':
    case 'running':
      return html`<span class="muted">…</span>`;
  }
}

interface LogLine {
  level?: unknown;
  message?: unknown;
  time?: unknown;
}

function logsCell(e: ExecutionView): SafeHtml | string {
  const logs = e.logs as LogLine[];
  if (logs.length === 0) return e.logsTruncated ? 'truncated' : '—';
  const shown = logs.slice(0, LOG_PREVIEW_LINES);
  const lines = shown.map((l) => {
    const message = typeof l.message === 'string' ? l.message : json(l.message);
    const level = typeof l.level === 'string' ? l.level : 'log';
    return html`<span class="log log-${level}">[${level}] ${preview(message, LOG_LINE_CHARS)}</span>\n`;
  });
  const more = logs.length - shown.length;
  return html`<details><summary>${String(logs.length)} line${logs.length === 1 ? '' : 's'}${e.logsTruncated ? ' (truncated)' : ''}</summary><pre class="logs">${lines}${
    more > 0 ? `… ${more} more lines\n` : ''
  }</pre></details>`;
}

export function executionRow(e: ExecutionView): SafeHtml {
  return html`<tr id="execution-${e.id}" class="execution" data-status="${e.status}">
  <td><code class="execution-id">${e.id}</code></td>
  <td>${statusBadge(e.status)}</td>
  <td>${e.trigger.type}${e.scriptVersion !== null ? html` <span class="muted">v${String(e.scriptVersion)}</span>` : false}</td>
  <td>${fmtTime(e.createdAt)}</td>
  <td>${e.durationMs !== null ? `${e.durationMs} ms` : '—'}</td>
  <td>${resultCell(e)}</td>
  <td>${logsCell(e)}</td>
</tr>`;
}

/**
 * The history body. It polls itself (outerHTML) every POLL_SECONDS while
 * any run is pending or running, stops once none is, and refreshes at once
 * when a run starts (the execute answer triggers kiln-executions-changed).
 */
export function executionRows(scriptId: string, executions: ExecutionView[]): SafeHtml {
  const active = executions.some((e) => e.status === 'pending' || e.status === 'running');
  const trigger = `kiln-executions-changed from:body${active ? `, every ${POLL_SECONDS}s` : ''}`;
  return html`<tbody id="executions" hx-get="/scripts/${seg(scriptId)}/executions" hx-trigger="${trigger}" hx-swap="outerHTML" data-polling="${active ? 'true' : 'false'}">
${executions.length === 0 ? html`<tr class="empty"><td colspan="7">No executions yet.</td></tr>` : executions.map(executionRow)}
</tbody>`;
}

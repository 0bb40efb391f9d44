import { HTTP_METHODS, KilnError, SCRIPT_STATUSES, type HttpMethod, type ScriptStatus } from '@kiln/core';
import type { Script } from '@kiln/db';
import type { z } from 'zod';
import { createScriptBody, triggersSchema, type TriggersInput } from '../scripts/script.dto';

/**
 * Document 001's create form (CamelCase fields) and how each lands on a
 * Kiln script. The form has one Type; Kiln stores triggers instead:
 * scheduled → triggers.cron, http → triggers.http, event → triggers.events,
 * oneoff and embedded → no trigger (run by hand or over the API).
 */
export const SCRIPT_TYPES = ['scheduled', 'http', 'event', 'oneoff', 'embedded'] as const;
export type ScriptType = (typeof SCRIPT_TYPES)[number];

export const FORM_FIELDS = [
  'Name',
  'Description',
  'Source',
  'Type',
  'Status',
  'CronExpression',
  'HTTPPath',
  'HTTPMethods',
  'EventTypes',
  'MaxExecutionTimeMs',
  'MaxMemoryBytes',
] as const;
export type FormField = (typeof FORM_FIELDS)[number];

/** Per-field messages, plus `form` for what belongs to no single field. */
export type FormErrors = Partial<Record<FormField | 'form', string>>;

/** What the form shows: exactly what was typed (re-rendered after an error) or what is stored. */
export interface ScriptFormValues {
  Name: string;
  Description: string;
  Source: string;
  Type: string;
  Status: string;
  CronExpression: string;
  HTTPPath: string;
  HTTPMethods: string[];
  EventTypes: string;
  MaxExecutionTimeMs: string;
  MaxMemoryBytes: string;
}

/** The Kiln fields a valid form produces (a subset of the native create/update body). */
export interface ScriptFormInput {
  name: string;
  description: string | null;
  source: string;
  status: ScriptStatus;
  timeoutMs: number;
  memoryMb: number;
  triggers: TriggersInput | null;
}

export const MIB = 1024 * 1024;
export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_MEMORY_BYTES = 64 * MIB;
const MIN_MEMORY_MB = 8;
const MAX_MEMORY_MB = 512;

export function emptyFormValues(): ScriptFormValues {
  return {
    Name: '',
    Description: '',
    Source: "module.exports = async ({ input, context, logger }) => {\n  logger.info('hello from ' + context.scriptId);\n  return { ok: true, input };\n};\n",
    Type: 'oneoff',
    Status: 'draft',
    CronExpression: '',
    HTTPPath: '',
    HTTPMethods: ['POST'],
    EventTypes: '',
    MaxExecutionTimeMs: String(DEFAULT_TIMEOUT_MS),
    MaxMemoryBytes: String(DEFAULT_MEMORY_BYTES),
  };
}

type FormBody = Record<string, unknown>;

function first(body: FormBody, name: string): string {
  const value = body[name];
  const one = Array.isArray(value) ? (value as unknown[])[0] : value;
  return typeof one === 'string' ? one : '';
}

/** A repeated field (checkboxes) or one text field, split on commas, spaces and newlines. */
function list(body: FormBody, name: string): string[] {
  const value = body[name];
  const raw = Array.isArray(value) ? (value as unknown[]) : [value];
  return raw
    .filter((v): v is string => typeof v === 'string')
    .flatMap((v) => v.split(/[\s,]+/))
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
}

export function formValuesFrom(body: unknown): ScriptFormValues {
  const b: FormBody = body && typeof body === 'object' ? (body as FormBody) : {};
  return {
    Name: first(b, 'Name').trim(),
    Description: first(b, 'Description'),
    // Browsers send text areas with CRLF line ends.
    Source: first(b, 'Source').replace(/\r\n/g, '\n'),
    Type: first(b, 'Type').trim(),
    Status: first(b, 'Status').trim(),
    CronExpression: first(b, 'CronExpression').trim(),
    HTTPPath: first(b, 'HTTPPath').trim(),
    HTTPMethods: list(b, 'HTTPMethods').map((m) => m.toUpperCase()),
    EventTypes: list(b, 'EventTypes').join(', '),
    MaxExecutionTimeMs: first(b, 'MaxExecutionTimeMs').trim(),
    MaxMemoryBytes: first(b, 'MaxMemoryBytes').trim(),
  };
}

/** Stored triggers, read defensively (the column is JSON). */
export function storedTriggers(script: Pick<Script, 'triggers'>): TriggersInput | null {
  const parsed = triggersSchema.safeParse(script.triggers ?? null);
  return parsed.success ? parsed.data : null;
}

export function scriptTypeOf(triggers: TriggersInput | null): ScriptType {
  if (triggers?.cron) return 'scheduled';
  if (triggers?.http) return 'http';
  if (triggers?.events && triggers.events.length > 0) return 'event';
  return 'oneoff';
}

/** How many kinds of trigger a script has (the console edits one; more can be set over the API). */
export function triggerKinds(triggers: TriggersInput | null): number {
  return [triggers?.cron, triggers?.http, triggers?.events && triggers.events.length > 0 ? triggers.events : null].filter(Boolean).length;
}

export function formValuesFromScript(script: Script & { source: string }): ScriptFormValues {
  const triggers = storedTriggers(script);
  return {
    Name: script.name,
    Description: script.description ?? '',
    Source: script.source,
    Type: scriptTypeOf(triggers),
    Status: script.status,
    CronExpression: triggers?.cron ?? '',
    HTTPPath: triggers?.http?.path ?? '',
    HTTPMethods: triggers?.http?.methods ?? ['POST'],
    EventTypes: (triggers?.events ?? []).join(', '),
    MaxExecutionTimeMs: String(script.timeoutMs),
    MaxMemoryBytes: String(script.memoryMb * MIB),
  };
}

/** Native field paths (zod issues, service problems) → the form field that shows the message. */
export function formFieldFor(path: string): FormField | 'form' {
  if (path === 'name') return 'Name';
  if (path === 'description') return 'Description';
  if (path === 'source') return 'Source';
  if (path === 'status') return 'Status';
  if (path === 'timeoutMs') return 'MaxExecutionTimeMs';
  if (path === 'memoryMb') return 'MaxMemoryBytes';
  if (path.startsWith('triggers.cron') || path.startsWith('triggers.timezone')) return 'CronExpression';
  if (path.startsWith('triggers.http.methods')) return 'HTTPMethods';
  if (path.startsWith('triggers.http')) return 'HTTPPath';
  if (path.startsWith('triggers.events')) return 'EventTypes';
  return 'form';
}

function addError(errors: FormErrors, field: FormField | 'form', message: string): void {
  // The first problem of a field is the one worth reading.
  errors[field] ??= message;
}

function issuePath(issue: z.core.$ZodIssue): string {
  return issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.');
}

/**
 * Form → native fields, checked with the native API's own schema
 * (createScriptBody), so the console accepts exactly what `/v1/scripts`
 * accepts. `existing` keeps what the form cannot show: the cron timezone and
 * an HTTP trigger's requireApiKey.
 */
export function parseScriptForm(values: ScriptFormValues, existing: TriggersInput | null = null): { input: ScriptFormInput | null; errors: FormErrors } {
  const errors: FormErrors = {};
  const type = (SCRIPT_TYPES as readonly string[]).includes(values.Type) ? (values.Type as ScriptType) : null;
  if (!type) addError(errors, 'Type', `must be one of ${SCRIPT_TYPES.join(', ')}`);
  const status = values.Status === '' ? 'draft' : values.Status;
  if (!(SCRIPT_STATUSES as readonly string[]).includes(status)) addError(errors, 'Status', `must be one of ${SCRIPT_STATUSES.join(', ')}`);

  let timeoutMs = DEFAULT_TIMEOUT_MS;
  if (values.MaxExecutionTimeMs !== '') {
    if (/^\d{1,9}$/.test(values.MaxExecutionTimeMs)) timeoutMs = Number(values.MaxExecutionTimeMs);
    else addError(errors, 'MaxExecutionTimeMs', 'must be a whole number of milliseconds');
  }
  let memoryMb = DEFAULT_MEMORY_BYTES / MIB;
  if (values.MaxMemoryBytes !== '') {
    const bytes = /^\d{1,12}$/.test(values.MaxMemoryBytes) ? Number(values.MaxMemoryBytes) : NaN;
    if (!Number.isInteger(bytes) || bytes % MIB !== 0 || bytes < MIN_MEMORY_MB * MIB || bytes > MAX_MEMORY_MB * MIB) {
      addError(
        errors,
        'MaxMemoryBytes',
        `must be a whole number of MiB (${MIB} bytes) from ${MIN_MEMORY_MB * MIB} (${MIN_MEMORY_MB} MiB) to ${MAX_MEMORY_MB * MIB} (${MAX_MEMORY_MB} MiB)`,
      );
    } else {
      memoryMb = bytes / MIB;
    }
  }

  let triggers: TriggersInput | null = null;
  if (type === 'scheduled') {
    if (values.CronExpression === '') addError(errors, 'CronExpression', 'is required when Type is scheduled');
    else triggers = { cron: values.CronExpression, ...(existing?.cron && existing.timezone ? { timezone: existing.timezone } : {}) };
  } else if (type === 'http') {
    if (values.HTTPPath === '') addError(errors, 'HTTPPath', 'is required when Type is http');
    if (values.HTTPMethods.length === 0) addError(errors, 'HTTPMethods', 'choose at least one method when Type is http');
    const unknown = values.HTTPMethods.filter((m) => !(HTTP_METHODS as readonly string[]).includes(m));
    if (unknown.length > 0) addError(errors, 'HTTPMethods', `unknown method ${unknown.join(', ')}; use ${HTTP_METHODS.join(', ')}`);
    if (values.HTTPPath !== '' && values.HTTPMethods.length > 0) {
      triggers = { http: { path: values.HTTPPath, methods: values.HTTPMethods as HttpMethod[], requireApiKey: existing?.http?.requireApiKey ?? false } };
    }
  } else if (type === 'event') {
    const events = values.EventTypes.split(/[\s,]+/).filter((e) => e.length > 0);
    if (events.length === 0) addError(errors, 'EventTypes', 'list at least one event type when Type is event');
    else triggers = { events };
  }

  const parsed = createScriptBody.safeParse({
    name: values.Name,
    description: values.Description === '' ? null : values.Description,
    source: values.Source,
    status,
    timeoutMs,
    memoryMb,
    triggers,
  });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) addError(errors, formFieldFor(issuePath(issue)), issue.message);
  }
  if (Object.keys(errors).length > 0 || !parsed.success) return { input: null, errors };
  const data = parsed.data;
  return {
    input: {
      name: data.name,
      description: data.description ?? null,
      source: data.source,
      status: data.status,
      timeoutMs: data.timeoutMs,
      memoryMb: data.memoryMb,
      triggers: data.triggers ?? null,
    },
    errors,
  };
}

/**
 * A KilnError from ScriptsService (source that does not parse, bad cron,
 * taken name or HTTP route, oversized source) as inline form errors, or
 * null when it is not about the form (the error page handles those).
 */
export function formErrorsFrom(err: unknown): { status: number; errors: FormErrors } | null {
  if (!(err instanceof KilnError)) return null;
  const errors: FormErrors = {};
  if (err.code === 'VALIDATION_ERROR') {
    const fields = Array.isArray(err.details?.fields) ? (err.details.fields as { field?: unknown; message?: unknown }[]) : [];
    for (const f of fields) {
      addError(errors, formFieldFor(typeof f.field === 'string' ? f.field : ''), typeof f.message === 'string' ? f.message : 'is invalid');
    }
    if (fields.length === 0) addError(errors, 'form', err.message);
    return { status: 400, errors };
  }
  if (err.code === 'SCRIPT_NAME_TAKEN') return { status: 409, errors: { Name: err.message } };
  if (err.code === 'HTTP_ROUTE_TAKEN') return { status: 409, errors: { HTTPPath: err.message } };
  if (err.code === 'SOURCE_TOO_LARGE') return { status: 413, errors: { Source: err.message } };
  return null;
}

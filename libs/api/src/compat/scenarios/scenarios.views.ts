import { hasWarnings, jsonByteLength, storedSteps, type ExecutionStatus, type ExecutionStep } from '@kiln/core';
import { executionErrorMessage } from '../compat-problem';
import type { ExecutionFilter } from '@kiln/db';

/** Document 003's execution statuses. */
export const SCENARIO_STATUSES = ['pending', 'running', 'completed', 'stopped', 'error', 'warning'] as const;
export type ScenarioStatus = (typeof SCENARIO_STATUSES)[number];

/** The columns of an execution the views below read (a Prisma row fits). */
export interface ScenarioExecutionSource {
  id: string;
  scriptId: string | null;
  status: string;
  input: unknown;
  output: unknown;
  error: unknown;
  logs: unknown;
  steps: unknown;
  startedAt: Date | null;
  finishedAt: Date | null;
  durationMs: number | null;
}

/**
 * Kiln status → document 003 status. `pending_approval` is `running`: the run
 * started and has not ended (it waits for a decision, not for a worker);
 * `completed` with a warn/error log line or a failed host call is `warning`.
 */
export function scenarioStatus(e: Pick<ScenarioExecutionSource, 'status' | 'logs' | 'steps'>): ScenarioStatus {
  switch (e.status as ExecutionStatus) {
    case 'pending':
      return 'pending';
    case 'running':
    case 'pending_approval':
      return 'running';
    case 'completed':
      return hasWarnings(e) ? 'warning' : 'completed';
    case 'failed':
      return 'error';
    case 'cancelled':
      return 'stopped';
  }
}

/** The `status` filter of the list, as the native filter it means. */
export function nativeFilter(status: ScenarioStatus): Pick<ExecutionFilter, 'status' | 'hasWarnings'> {
  switch (status) {
    case 'pending':
      return { status: 'pending' };
    case 'running':
      return { status: ['running', 'pending_approval'] };
    case 'completed':
      return { status: 'completed', hasWarnings: false };
    case 'warning':
      return { status: 'completed', hasWarnings: true };
    case 'error':
      return { status: 'failed' };
    case 'stopped':
      return { status: 'cancelled' };
  }
}

/**
 * `operations`: one for the script run plus one per host call it made
 * (fetch, sdk.http, cache, events). `dataTransfer`: bytes of the input and
 * output JSON plus every host call's request and response JSON.
 */
export function executionStats(e: ScenarioExecutionSource): { operations: number; dataTransfer: number } {
  const steps = storedSteps(e.steps);
  const stepBytes = steps.reduce((sum, s) => sum + (s.requestBytes ?? 0) + (s.responseBytes ?? 0), 0);
  return { operations: 1 + steps.length, dataTransfer: jsonByteLength(e.input) + jsonByteLength(e.output) + stepBytes };
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** `GET /scenarios/:id/executions/:execId` → `{execution: …}`. */
export function executionView(e: ScenarioExecutionSource) {
  const stats = executionStats(e);
  return {
    id: e.id,
    scenarioId: e.scriptId,
    status: scenarioStatus(e),
    started: iso(e.startedAt),
    finished: iso(e.finishedAt),
    operations: stats.operations,
    dataTransfer: stats.dataTransfer,
    duration: e.durationMs,
  };
}

/** A list item: `{id, status, started, finished}`; `warned` says whether a completed run had warnings. */
export function listItem(e: Pick<ScenarioExecutionSource, 'id' | 'status' | 'startedAt' | 'finishedAt'>, warned: boolean) {
  const status: ScenarioStatus = e.status === 'completed' ? (warned ? 'warning' : 'completed') : scenarioStatus({ status: e.status, logs: null, steps: null });
  return { id: e.id, status, started: iso(e.startedAt), finished: iso(e.finishedAt) };
}

const STEP_NAMES: Record<string, string> = {
  fetch: 'HTTP Request',
  'http.request': 'HTTP Request',
  'events.publish': 'Publish Event',
};

function stepName(op: string): string {
  if (STEP_NAMES[op]) return STEP_NAMES[op];
  if (op.startsWith('cache.')) return `Cache ${op.slice('cache.'.length)}`;
  return op;
}

function stepInput(step: ExecutionStep): Record<string, unknown> {
  if ((step.op === 'fetch' || step.op === 'http.request') && step.target) {
    const space = step.target.indexOf(' ');
    return { method: step.target.slice(0, space), url: step.target.slice(space + 1), bytes: step.requestBytes };
  }
  if (step.op.startsWith('cache.')) return { key: step.target };
  if (step.op === 'events.publish') return { type: step.target };
  return { target: step.target };
}

function stepOutput(step: ExecutionStep): Record<string, unknown> {
  if (step.status === 'error') return { error: step.error ?? 'failed' };
  return step.httpStatus !== undefined ? { status: step.httpStatus, bytes: step.responseBytes } : { bytes: step.responseBytes };
}

/**
 * Document 003's per-module breakdown of a Kiln run: module 1 is the script
 * itself (its input, output and duration), then one module per host call in
 * call order (what was called, its answer's status and size, its duration).
 */
export function executionModules(e: ScenarioExecutionSource, scriptName: string | null) {
  const failed = e.status === 'failed';
  const script = {
    id: 1,
    name: scriptName ? `Script: ${scriptName}` : 'Script',
    status: scenarioStatus(e),
    duration: e.durationMs,
    input: e.input ?? null,
    output: failed ? { error: executionErrorMessage(e.error) } : (e.output ?? null),
  };
  const calls = storedSteps(e.steps).map((step, i) => ({
    id: i + 2,
    name: stepName(step.op),
    status: step.status === 'ok' ? 'completed' : 'error',
    duration: step.durationMs,
    input: stepInput(step),
    output: stepOutput(step),
  }));
  return [script, ...calls];
}

/**
 * Which module a failed run failed in: the last failed host call when the
 * script's error carries that call's message (an uncaught fetch failure),
 * else the script module.
 */
export function failedModule(e: ScenarioExecutionSource, scriptName: string | null): { moduleId: number; moduleName: string; error: string } {
  const message = executionErrorMessage(e.error) ?? 'failed';
  const modules = executionModules(e, scriptName);
  const steps = storedSteps(e.steps);
  for (let i = steps.length - 1; i >= 0; i -= 1) {
    const step = steps[i] as ExecutionStep;
    if (step.status === 'error' && step.error && message.includes(step.error)) {
      const module = modules[i + 1] as { id: number; name: string };
      return { moduleId: module.id, moduleName: module.name, error: step.error };
    }
  }
  return { moduleId: 1, moduleName: (modules[0] as { name: string }).name, error: message };
}

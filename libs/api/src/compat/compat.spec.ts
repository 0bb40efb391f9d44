import type { ExecutionView } from '@kiln/core';
import { loadConfig } from '@kiln/config';
import { agentInput } from './agents/agents.dto';
import { agentsEnvelope } from './agents/agents.envelope';
import { apiRunEnvelope } from './api-run/api-run.envelope';
import { apiRunAnswer } from './api-run/api-run.response';
import { codeResult } from './code-node/code-result';
import { CODE_TEMPLATES } from './code-node/code-templates';
import { validateCode } from './code-node/code-validation';
import { codeExecuteEnvelope, codeNodeEnvelope, codeValidateEnvelope } from './code-node/code-node.envelope';
import { flattenPgQuery } from './scenarios/scenarios.dto';
import { scenariosEnvelope } from './scenarios/scenarios.envelope';
import { executionModules, executionStats, failedModule, nativeFilter, scenarioStatus, type ScenarioExecutionSource } from './scenarios/scenarios.views';

function view(overrides: Partial<ExecutionView>): ExecutionView {
  return {
    id: 'e1',
    status: 'completed',
    scriptId: 's1',
    scriptVersion: 1,
    trigger: { type: 'api' },
    input: null,
    output: null,
    logs: [],
    logsTruncated: false,
    error: null,
    attempts: 1,
    workerId: 'w',
    retryOf: null,
    metadata: null,
    approval: null,
    approvalStatus: null,
    approvalComment: null,
    createdAt: '2026-01-01T00:00:00.000Z',
    startedAt: '2026-01-01T00:00:00.010Z',
    finishedAt: '2026-01-01T00:00:00.052Z',
    durationMs: 42,
    queueWaitMs: 10,
    ...overrides,
  };
}

describe('ApiRun (document 000)', () => {
  const base = { scriptId: 's1', executionId: 'e1', elapsedMs: 50.4, waitedMs: 35_000 };
  const thrown = view({ status: 'failed', error: { code: 'EXECUTION_ERROR', message: 'TypeError: x', stack: 'TypeError: x\n    at main:1:1' } });

  it('puts the stack in details only in development', () => {
    expect(apiRunAnswer({ ...base, finished: thrown, exposeStack: true }).body).toMatchObject({ error: { details: { executionId: 'e1', stack: expect.any(String) } } });
    const production = apiRunAnswer({ ...base, finished: thrown, exposeStack: false });
    expect(production).toEqual({
      statusCode: 500,
      body: { success: false, error: { message: 'Script execution failed: TypeError: x', code: 'INTERNAL_ERROR', statusCode: 500, details: { executionId: 'e1' } }, executionTime: 42, scriptId: 's1' },
    });
  });

  it('answers 200 with the output, 504 TIMEOUT for a timed-out or unfinished run', () => {
    expect(apiRunAnswer({ ...base, finished: view({ output: { a: 1 } }), exposeStack: false })).toEqual({ statusCode: 200, body: { success: true, data: { a: 1 }, executionTime: 42, scriptId: 's1' } });
    expect(apiRunAnswer({ ...base, finished: view({ status: 'failed', error: { code: 'TIMEOUT', message: 'late' } }), exposeStack: false }).statusCode).toBe(504);
    expect(apiRunAnswer({ ...base, finished: null, exposeStack: false }).body).toMatchObject({ error: { code: 'TIMEOUT', statusCode: 504 }, executionTime: 50 });
  });

  it('speaks the document in its envelope', () => {
    expect(apiRunEnvelope({ statusCode: 401, code: 'UNAUTHORIZED', message: 'Missing API key: …' })).toEqual({ success: false, error: { message: 'Invalid or missing API key', code: 'UNAUTHORIZED', statusCode: 401 } });
    expect(apiRunEnvelope({ statusCode: 403, code: 'API_KEY_INACTIVE', message: 'API key is inactive' })).toEqual({ success: false, error: { message: 'API key is inactive', code: 'FORBIDDEN', statusCode: 403, details: { reason: 'API_KEY_INACTIVE' } } });
    expect(apiRunEnvelope({ statusCode: 429, code: 'RATE_LIMITED', message: 'cap', details: { retryAfter: 3 } }).error).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED', details: { retryAfter: 3 } });
  });
});

describe('agents (document 002)', () => {
  it('cuts csvData to 100 rows and keeps everything else', () => {
    const rows = Array.from({ length: 101 }, (_, i) => ({ i }));
    expect(agentInput({ csvData: rows, x: 1 })).toEqual({ csvData: rows.slice(0, 100), x: 1 });
    expect(agentInput({ csvData: 'a,b' })).toEqual({ csvData: 'a,b' });
    expect(agentInput(undefined)).toEqual({});
  });

  it('answers NestJS-shaped errors in the document\'s words', () => {
    expect(agentsEnvelope({ statusCode: 401, code: 'UNAUTHORIZED', message: 'x' })).toEqual({ message: 'Invalid API key', error: 'Unauthorized', statusCode: 401 });
    expect(agentsEnvelope({ statusCode: 403, code: 'API_KEY_EXPIRED', message: 'API key expired at …' })).toEqual({ message: 'API key has expired', error: 'Forbidden', statusCode: 403 });
    expect(agentsEnvelope({ statusCode: 429, code: 'RATE_LIMITED', message: 'cap', details: { retryAfter: 7 } })).toEqual({ statusCode: 429, message: 'Rate limit exceeded', error: 'Too Many Requests', retryAfter: 7 });
    expect(agentsEnvelope({ statusCode: 400, code: 'VALIDATION_ERROR', message: 'Request validation failed', details: { fields: [{ field: 'input', message: 'expected record' }] } }).message).toBe('input expected record');
  });

  it('keeps the documented defaults of this surface: burst 10, refill 1/s, 1000 runs a month', () => {
    const config = loadConfig({ KILN_ENCRYPTION_KEY: 'a'.repeat(64) });
    expect(config.limits).toMatchObject({ agentsRateLimitBurst: 10, agentsRateLimitRefillPerSec: 1, agentsMonthlyExecutions: 1000 });
  });
});

describe('scenarios (document 003)', () => {
  const execution = (overrides: Partial<ScenarioExecutionSource>): ScenarioExecutionSource => ({
    id: 'e1',
    scriptId: 's1',
    status: 'completed',
    input: { a: 1 },
    output: { b: 'two' },
    error: null,
    logs: [],
    steps: null,
    startedAt: new Date(0),
    finishedAt: new Date(5),
    durationMs: 5,
    ...overrides,
  });
  const step = (op: string, status: 'ok' | 'error', extra: Record<string, unknown> = {}) => ({ op, target: op === 'fetch' ? 'GET http://h/x' : 'k', status, startedAt: '', durationMs: 3, requestBytes: 10, responseBytes: 20, ...extra });

  it('maps Kiln statuses to the document\'s six', () => {
    expect(['pending', 'running', 'pending_approval', 'failed', 'cancelled'].map((status) => scenarioStatus({ status, logs: [], steps: null }))).toEqual(['pending', 'running', 'running', 'error', 'stopped']);
    expect(scenarioStatus({ status: 'completed', logs: [], steps: null })).toBe('completed');
    expect(scenarioStatus({ status: 'completed', logs: [{ level: 'error', message: 'x' }], steps: null })).toBe('warning');
    expect(nativeFilter('warning')).toEqual({ status: 'completed', hasWarnings: true });
    expect(nativeFilter('running')).toEqual({ status: ['running', 'pending_approval'] });
  });

  it('counts operations and data transfer from the step record', () => {
    expect(executionStats(execution({}))).toEqual({ operations: 1, dataTransfer: 7 + 11 });
    expect(executionStats(execution({ steps: [step('fetch', 'ok'), step('cache.get', 'ok')] }))).toEqual({ operations: 3, dataTransfer: 18 + 60 });
  });

  it('breaks a run into modules and finds the one that failed', () => {
    const failed = execution({ status: 'failed', output: null, error: { code: 'EXECUTION_ERROR', message: 'Error: fetch failed: refused' }, steps: [step('cache.get', 'ok'), step('fetch', 'error', { error: 'fetch failed: refused', responseBytes: 0 })] });
    const modules = executionModules(failed, 'etl');
    expect(modules.map((m) => [m.id, m.name, m.status])).toEqual([[1, 'Script: etl', 'error'], [2, 'Cache get', 'completed'], [3, 'HTTP Request', 'error']]);
    expect(modules[0]?.output).toEqual({ error: 'Error: fetch failed: refused' });
    expect(failedModule(failed, 'etl')).toEqual({ moduleId: 3, moduleName: 'HTTP Request', error: 'fetch failed: refused' });
    expect(failedModule(execution({ status: 'failed', error: { message: 'Error: mine' } }), 'etl')).toEqual({ moduleId: 1, moduleName: 'Script: etl', error: 'Error: mine' });
  });

  it('reads pg[limit] either flat or nested, and never passes apiKey on', () => {
    expect(flattenPgQuery({ 'pg[limit]': '5', apiKey: 'k' })).toEqual({ 'pg[limit]': '5' });
    expect(flattenPgQuery({ pg: { limit: '5', offset: '2' } })).toEqual({ 'pg[limit]': '5', 'pg[offset]': '2' });
  });

  it('answers {error: {message, code, details}} with the document\'s codes', () => {
    expect(scenariosEnvelope({ statusCode: 409, code: 'SCRIPT_INACTIVE', message: 'x', details: { status: 'paused' } })).toEqual({ error: { message: 'Scenario is inactive', code: 'SCENARIO_INACTIVE', details: { status: 'paused' } } });
    expect(scenariosEnvelope({ statusCode: 400, code: 'VALIDATION_ERROR', message: 'bad' }).error.code).toBe('INVALID_INPUT');
  });
});

describe('code node (document 004)', () => {
  const under10k = (code: string) => Buffer.byteLength(code) > 10 * 1024;

  it('validates in the document\'s words', () => {
    expect(validateCode('  ', under10k)).toEqual({ valid: false, error: 'Code cannot be empty' });
    expect(validateCode('x'.repeat(10 * 1024 + 1), under10k)).toEqual({ valid: false, error: 'Code exceeds maximum length' });
    expect(validateCode('if (a) {', under10k)).toEqual({ valid: false, error: 'Unmatched curly braces' });
    expect(validateCode("require('fs')", under10k)).toMatchObject({ valid: false, error: expect.stringMatching(/^Dangerous pattern detected: require\(\)/) });
    expect(validateCode("export default function () { return require('x'); }", under10k)).toMatchObject({ valid: false });
    expect(validateCode("function require(n) { return n; } require('x');", under10k)).toEqual({ valid: true });
    expect(validateCode("eval('1 + 1');", under10k)).toEqual({ valid: true });
  });

  it('shapes results in seconds, with console lines', () => {
    const done = view({ output: { sum: 8 }, logs: [{ level: 'log', message: 'Sum: 8' }, { level: 'error', message: 'oops' }], durationMs: 234 });
    expect(codeResult(done, 5000, 300)).toEqual({ status: 'success', output: 'Sum: 8\noops', error: null, execution_time: 0.234, console_logs: ['Sum: 8', 'oops'], return_value: { sum: 8 } });
    expect(codeResult(view({ status: 'failed', error: { code: 'TIMEOUT', message: 'x' }, durationMs: 5001 }), 5000, 0)).toMatchObject({ status: 'timeout', error: 'Execution timeout (>5000ms)', execution_time: 5.001 });
    expect(codeResult(view({ status: 'failed', error: { code: 'MEMORY_LIMIT', message: 'heap' } }), 5000, 0).status).toBe('memory_limit');
    expect(codeResult(null, 1000, 6123.7)).toMatchObject({ status: 'timeout', execution_time: 6.124 });
  });

  it('has the twelve documented templates, each of them valid code', () => {
    expect(CODE_TEMPLATES).toHaveLength(12);
    for (const t of CODE_TEMPLATES) expect([t.id, validateCode(t.code, under10k)]).toEqual([t.id, { valid: true }]);
  });

  it('answers errors as {detail}, and keeps its own shapes on /execute and /validate', () => {
    expect(codeNodeEnvelope({ statusCode: 404, code: 'NOT_FOUND', message: 'Template not found' })).toEqual({ detail: 'Template not found' });
    expect(codeExecuteEnvelope({ statusCode: 413, code: 'PAYLOAD_TOO_LARGE', message: 'big' })).toMatchObject({ status: 'validation_error', error: 'Code exceeds maximum length' });
    expect(codeValidateEnvelope({ statusCode: 400, code: 'VALIDATION_ERROR', message: 'x', details: { fields: [{ field: 'code', message: 'code must be a string' }] } })).toEqual({ valid: false, error: 'code must be a string' });
  });
});

import type { WireOutcome } from '../protocol/ipc.types';
import type { FailureCode, LogEntry, RunOutcome, RunResult } from '../sandbox.types';

const LEVELS = new Set(['debug', 'info', 'warn', 'error', 'log']);
const CHILD_FAILURE_CODES = new Set<FailureCode>(['EXECUTION_ERROR', 'TIMEOUT', 'MEMORY_LIMIT', 'OUTPUT_LIMIT', 'INVALID_OUTPUT']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isLogEntry(value: unknown): value is LogEntry {
  return (
    isRecord(value) &&
    typeof value['level'] === 'string' &&
    LEVELS.has(value['level']) &&
    typeof value['message'] === 'string' &&
    typeof value['time'] === 'string'
  );
}

function parseJson(json: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(json) as unknown };
  } catch {
    return { ok: false };
  }
}

function pickApproval(value: unknown): { rows: unknown; metadata: unknown; displayFields: unknown } {
  const v = isRecord(value) ? value : {};
  return { rows: v['rows'] ?? null, metadata: v['metadata'] ?? null, displayFields: v['displayFields'] ?? null };
}

function resultFromWire(wire: Record<string, unknown>): RunResult {
  switch (wire['status']) {
    case 'completed': {
      const parsed = typeof wire['outputJson'] === 'string' ? parseJson(wire['outputJson']) : { ok: false as const };
      return parsed.ok
        ? { status: 'completed', output: parsed.value }
        : { status: 'failed', error: { code: 'INVALID_OUTPUT', message: 'Output is not valid JSON' } };
    }
    case 'failed': {
      const error = wire['error'];
      if (
        isRecord(error) &&
        typeof error['code'] === 'string' &&
        CHILD_FAILURE_CODES.has(error['code'] as FailureCode) &&
        typeof error['message'] === 'string'
      ) {
        const code = error['code'] as FailureCode;
        return typeof error['stack'] === 'string'
          ? { status: 'failed', error: { code, message: error['message'], stack: error['stack'] } }
          : { status: 'failed', error: { code, message: error['message'] } };
      }
      break;
    }
    case 'cancelled':
      return { status: 'cancelled' };
    case 'suspended': {
      const parsed = typeof wire['approvalJson'] === 'string' ? parseJson(wire['approvalJson']) : { ok: false as const };
      if (parsed.ok) return { status: 'suspended', approval: pickApproval(parsed.value) };
      break;
    }
    case 'crashed':
      return { status: 'crashed', message: typeof wire['message'] === 'string' ? wire['message'] : 'sandbox process failed' };
  }
  return { status: 'crashed', message: 'the sandbox process sent a malformed outcome' };
}

/** A child's report, checked field by field: the child ran hostile code and is not trusted blindly. */
export function outcomeFromWire(wire: WireOutcome, fallbackDurationMs: number): RunOutcome {
  const record = wire as unknown as Record<string, unknown>;
  const logs = Array.isArray(record['logs']) ? (record['logs'] as unknown[]).filter(isLogEntry) : [];
  const durationMs =
    typeof record['durationMs'] === 'number' && Number.isFinite(record['durationMs']) ? record['durationMs'] : fallbackDurationMs;
  return { ...resultFromWire(record), logs, logsTruncated: record['logsTruncated'] === true, durationMs };
}

/** An outcome decided by the pool itself (queue, child death): no logs reached it. */
export function poolOutcome(result: RunResult, durationMs: number): RunOutcome {
  return { ...result, logs: [], logsTruncated: false, durationMs: Math.round(durationMs) };
}

export interface DyingRun {
  timeoutMs: number;
  memoryMb: number;
  /** The parent's watchdog killed the child because this run overran. */
  watchdogFired: boolean;
  /** A cancel had to kill the child. */
  cancelRequested: boolean;
}

/**
 * Why did a child die, run by run? A kill we ordered explains itself. Otherwise
 * a child that was running one script alone most likely died of it (V8 aborts
 * the whole process on some heap overruns): MEMORY_LIMIT. With several runs in
 * flight nobody can tell which one did it, so all of them are `crashed` and
 * retried: failing a tenant's run for a neighbour's bomb would be worse.
 */
export function attributeDeath(runs: readonly DyingRun[], poolClosing: boolean): RunResult[] {
  const explained = runs.some((run) => run.watchdogFired || run.cancelRequested);
  return runs.map((run): RunResult => {
    if (run.watchdogFired) {
      return { status: 'failed', error: { code: 'TIMEOUT', message: `Script exceeded the time limit of ${run.timeoutMs} ms` } };
    }
    if (run.cancelRequested) return { status: 'cancelled' };
    if (poolClosing) return { status: 'crashed', message: 'the sandbox pool closed before the run finished' };
    if (!explained && runs.length === 1) {
      return {
        status: 'failed',
        error: {
          code: 'MEMORY_LIMIT',
          message: `Script exceeded the memory limit of ${run.memoryMb} MB (the sandbox process died while running it)`,
        },
      };
    }
    return { status: 'crashed', message: 'the sandbox process died while running this script alongside others' };
  });
}

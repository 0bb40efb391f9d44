import type { FailureCode, LogEntry, RunEntry, SandboxLimits } from '../sandbox.types';

/** Parent → child. Values cross as strings of JSON so the child never trusts object shapes. */
export type ParentMessage =
  | {
      t: 'run';
      runId: string;
      isolationKey: string;
      /** Left out when the child holds `sourceKey`'s source (see SourceLedger). */
      source?: string;
      sourceKey?: string;
      /** Keep `source` under `sourceKey` for later runs. */
      keepSource?: boolean;
      /** Sources the child must drop first. */
      forgetSources?: string[];
      entry: RunEntry;
      globalsJson: string;
      limits: SandboxLimits;
    }
  | { t: 'cancel'; runId: string }
  | { t: 'hostResult'; runId: string; callId: number; ok: boolean; payload: string };

/** What a child reports for a finished run; the parent turns it into a RunOutcome. */
export type WireResult =
  | { status: 'completed'; outputJson: string }
  | { status: 'failed'; error: { code: FailureCode; message: string; stack?: string } }
  | { status: 'cancelled' }
  | { status: 'suspended'; approvalJson: string }
  | { status: 'crashed'; message: string };

export type WireOutcome = WireResult & { logs: LogEntry[]; logsTruncated: boolean; durationMs: number };

/** Child → parent. */
export type ChildMessage =
  | { t: 'ready' }
  | { t: 'host'; runId: string; callId: number; op: string; argsJson: string }
  | { t: 'done'; runId: string; outcome: WireOutcome };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** The parent treats a child as untrusted input: it ran hostile code, however well isolated. */
export function parseChildMessage(value: unknown): ChildMessage | undefined {
  if (!isRecord(value)) return undefined;
  switch (value['t']) {
    case 'ready':
      return { t: 'ready' };
    case 'host': {
      const { runId, callId, op, argsJson } = value;
      if (typeof runId === 'string' && typeof callId === 'number' && typeof op === 'string' && typeof argsJson === 'string') {
        return { t: 'host', runId, callId, op, argsJson };
      }
      return undefined;
    }
    case 'done': {
      const { runId, outcome } = value;
      if (typeof runId === 'string' && isRecord(outcome) && typeof outcome['status'] === 'string') {
        return { t: 'done', runId, outcome: outcome as WireOutcome };
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

export function parseParentMessage(value: unknown): ParentMessage | undefined {
  if (!isRecord(value) || typeof value['t'] !== 'string' || typeof value['runId'] !== 'string') return undefined;
  return value as ParentMessage;
}

/**
 * Entry of a sandbox child process (forked by SandboxPool). It holds no
 * credentials and no connections: runs arrive over IPC, host calls go back
 * over IPC, and the process exits as soon as its parent goes away.
 */
import { parseParentMessage, type ChildMessage } from '../protocol/ipc.types';
import { Outbox, OUTBOX_IDLE_MS, unbatch, type BatchMessage } from '../protocol/outbox';
import { SourceStore } from '../protocol/source-ledger';
import { CHILD_IDLE_ISOLATES } from '../pool/placement';
import { IsolateCache } from './isolate-cache';
import { RunSession, SlowSources } from './run-session';

function write(message: ChildMessage | BatchMessage<ChildMessage>): void {
  if (process.connected && process.send) process.send(message);
}

/** Outcomes and host calls of one event-loop turn go out as one send (at once after a quiet millisecond). */
const outbox = new Outbox<ChildMessage>(write, { idleMs: OUTBOX_IDLE_MS });

function send(message: ChildMessage): void {
  outbox.push(message);
}

function main(): void {
  if (!process.send) {
    process.stderr.write('the sandbox child must be started by SandboxPool (no IPC channel)\n');
    process.exit(2);
  }
  // Before a catastrophic abort, report what already finished.
  const isolates = new IsolateCache({ maxIdle: CHILD_IDLE_ISOLATES, idleTtlMs: 60_000, maxUses: 500, beforeAbort: () => outbox.flush() });
  const sessions = new Map<string, RunSession>();
  const sources = new SourceStore();
  const slowSources = new SlowSources();

  process.on('message', (raw: unknown) => {
    for (const message of unbatch(raw)) handle(message);
  });

  function handle(raw: unknown): void {
    const message = parseParentMessage(raw);
    if (!message) return;
    switch (message.t) {
      case 'run': {
        const { runId } = message;
        // Before anything else: the pool's ledger counts this message's keep and forget whatever becomes of the run.
        const source = sources.resolve(message);
        if (sessions.has(runId)) return;
        if (source === undefined) {
          // The pool's ledger says otherwise; it forgets the key on this answer and sends the source next time.
          send({ t: 'done', runId, outcome: { status: 'crashed', message: `the sandbox process does not hold source ${message.sourceKey ?? '(none)'}`, logs: [], logsTruncated: false, durationMs: 0 } });
          return;
        }
        const session = new RunSession({ ...message, source }, {
          isolates,
          slowSources,
          alone: () => sessions.size <= 1,
          sendHostCall: (callId, op, argsJson) => send({ t: 'host', runId, callId, op, argsJson }),
          onDone: (outcome) => {
            sessions.delete(runId);
            send({ t: 'done', runId, outcome });
          },
        });
        sessions.set(runId, session);
        void session.start();
        return;
      }
      case 'cancel':
        sessions.get(message.runId)?.cancel();
        return;
      case 'hostResult':
        sessions.get(message.runId)?.deliverHostResult(message.callId, message.ok, message.payload);
        return;
    }
  }

  process.on('disconnect', () => {
    isolates.disposeAll();
    process.exit(0);
  });

  send({ t: 'ready' });
  outbox.flush();
}

main();

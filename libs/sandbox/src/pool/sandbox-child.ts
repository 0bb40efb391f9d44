import { fork, type ChildProcess } from 'node:child_process';
import { parseChildMessage, type ChildMessage, type ParentMessage } from '../protocol/ipc.types';
import { Outbox, OUTBOX_IDLE_MS, unbatch, type BatchMessage } from '../protocol/outbox';
import type { ChildEntry } from './child-entry';
import { SourceLedger } from '../protocol/source-ledger';
import { CHILD_IDLE_ISOLATES, RecentKeys } from './placement';

const STDERR_TAIL_BYTES = 4096;
const DISCONNECT_GRACE_MS = 2000;
/** Script sources a child keeps by default (UTF-16 bytes): a hundred large bundles, or thousands of small scripts. */
export const CHILD_SOURCE_CACHE_BYTES = 32 * 1024 * 1024;

export interface SandboxChildEvents {
  onMessage(child: SandboxChild, message: Exclude<ChildMessage, { t: 'ready' }>): void;
  onExit(child: SandboxChild, code: number | null, signal: NodeJS.Signals | null): void;
}

/** One forked sandbox process, seen from the pool: readiness, messages, death. */
export class SandboxChild {
  /** Runs in flight in this process. */
  readonly runs = new Set<string>();
  /** Isolation keys of the latest runs here: the child likely holds idle isolates for them. */
  readonly recentKeys = new RecentKeys(CHILD_IDLE_ISOLATES);
  /** The script sources this process holds, so a run of one of them sends its key alone. */
  readonly sources: SourceLedger;
  private readonly proc: ChildProcess;
  private readyFlag = false;
  private exitedFlag = false;
  private stderrTail = '';
  private disconnectedByUs = false;
  private readonly ready: Promise<void>;
  private readonly exited: Promise<void>;
  /** Runs, cancels and host results of one event-loop turn go out as one send (at once after a quiet millisecond). */
  private readonly outbox = new Outbox<ParentMessage>((message) => this.write(message), { idleMs: OUTBOX_IDLE_MS });

  constructor(entry: ChildEntry, env: Record<string, string>, events: SandboxChildEvents, sourceCacheBytes = CHILD_SOURCE_CACHE_BYTES) {
    this.sources = new SourceLedger(sourceCacheBytes);
    this.proc = fork(entry.modulePath, [], {
      execArgv: entry.execArgv,
      env,
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.proc.stderr?.setEncoding('utf8');
    this.proc.stderr?.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_TAIL_BYTES);
    });

    let markReady: () => void = () => undefined;
    let failReady: (error: Error) => void = () => undefined;
    this.ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failReady = reject;
    });
    // start() may never be awaited by anyone if the pool closes first.
    this.ready.catch(() => undefined);

    let markExited: () => void = () => undefined;
    this.exited = new Promise<void>((resolve) => {
      markExited = resolve;
    });
    const onGone = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (this.exitedFlag) return;
      this.exitedFlag = true;
      failReady(new Error(`sandbox child exited before it was ready (code ${code}, signal ${signal}): ${this.stderrTail.trim()}`));
      markExited();
      events.onExit(this, code, signal);
    };

    this.proc.on('message', (raw: unknown) => {
      for (const item of unbatch(raw)) {
        const message = parseChildMessage(item);
        if (!message) continue;
        if (message.t === 'ready') {
          this.readyFlag = true;
          markReady();
        } else {
          events.onMessage(this, message);
        }
      }
    });
    // 'close' rather than 'exit': by then every message the child sent has been
    // read. But Node never emits 'close' once the parent itself disconnected.
    this.proc.on('close', onGone);
    this.proc.on('exit', (code, signal) => {
      if (this.disconnectedByUs) onGone(code, signal);
    });
    this.proc.on('error', () => {
      // A child that could not be spawned never emits 'close'.
      if (this.proc.pid === undefined) onGone(null, null);
    });
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** Whether the child ever reported ready (it may have died since). */
  get becameReady(): boolean {
    return this.readyFlag;
  }

  get isReady(): boolean {
    return this.readyFlag && !this.exitedFlag;
  }

  get hasExited(): boolean {
    return this.exitedFlag;
  }

  get stderr(): string {
    return this.stderrTail;
  }

  whenReady(): Promise<void> {
    return this.ready;
  }

  send(message: ParentMessage): void {
    if (this.exitedFlag || !this.proc.connected) return;
    this.outbox.push(message);
  }

  private write(message: ParentMessage | BatchMessage<ParentMessage>): void {
    if (this.exitedFlag || !this.proc.connected) return;
    // A child that died mid-send is reported by 'close'; nothing to do here.
    this.proc.send(message, () => undefined);
  }

  kill(): void {
    if (!this.exitedFlag) this.proc.kill('SIGKILL');
  }

  /** Idle children leave on their own when disconnected; busy ones are killed. */
  async terminate(): Promise<void> {
    if (this.exitedFlag) return;
    if (this.runs.size > 0 || !this.proc.connected) {
      this.kill();
    } else {
      this.disconnectedByUs = true;
      this.proc.disconnect();
      const fallback = setTimeout(() => this.kill(), DISCONNECT_GRACE_MS);
      await this.exited;
      clearTimeout(fallback);
    }
    await this.exited;
  }
}

import { performance } from 'node:perf_hooks';
import type { ChildMessage, ParentMessage } from '../protocol/ipc.types';
import type { RunOutcome, RunRequest, SandboxLimits, SandboxPoolOptions, SandboxStats } from '../sandbox.types';
import { resolveChildEntry, type ChildEntry } from './child-entry';
import { HostGate } from './host-gate';
import { choosePlacement, type PlacementCandidate } from './placement';
import { attributeDeath, outcomeFromWire, poolOutcome } from './run-outcome';
import { SandboxChild } from './sandbox-child';

/** The child enforces timeoutMs itself; past this margin the child is presumed stuck and killed. */
const WATCHDOG_MARGIN_MS = 1000;
/** A cancelled run whose child does not answer within this long has its child killed. */
const CANCEL_KILL_MS = 1000;
const RESPAWN_BACKOFF_MAX_MS = 5000;
const DEFAULT_CLOSE_GRACE_MS = 10_000;

interface QueuedRun {
  req: RunRequest;
  globalsJson: string;
  resolve(outcome: RunOutcome): void;
}

interface ActiveRun extends QueuedRun {
  child: SandboxChild;
  gate: HostGate;
  startedAt: number;
  watchdog: NodeJS.Timeout;
  watchdogFired: boolean;
  cancelRequested: boolean;
  cancelTimer: NodeJS.Timeout | undefined;
}

/** The child's isolate cache hands an idle isolate only to the same isolation key and memory limit. */
function isolateKey(req: RunRequest): string {
  return `${req.limits.memoryMb}:${req.isolationKey}`;
}

function invalidLimits(limits: SandboxLimits): string | undefined {
  const { timeoutMs, memoryMb, maxOutputBytes, maxLogBytes, maxRequests } = limits;
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) return 'limits.timeoutMs must be a positive number';
  // isolated-vm's floor for an isolate heap.
  if (!(Number.isInteger(memoryMb) && memoryMb >= 8)) return 'limits.memoryMb must be an integer ≥ 8';
  for (const [name, value] of Object.entries({ maxOutputBytes, maxLogBytes, maxRequests })) {
    if (!(Number.isInteger(value) && value >= 0)) return `limits.${name} must be an integer ≥ 0`;
  }
  return undefined;
}

/**
 * Runs scripts in a fixed set of child processes, each running up to
 * `runsPerProcess` isolates at once. Excess runs wait in a FIFO queue here.
 * A child that dies is replaced; its runs get an outcome all the same.
 */
export class SandboxPool {
  private readonly entry: ChildEntry;
  private readonly children = new Set<SandboxChild>();
  private readonly queue: QueuedRun[] = [];
  private readonly active = new Map<string, ActiveRun>();
  private readonly idleWaiters: Array<() => void> = [];
  private readonly respawnTimers = new Set<NodeJS.Timeout>();
  /** How many more runs in flight a child that ran the same isolation key may have and still be chosen. */
  private readonly affinitySlack: number;
  private restarts = 0;
  private failedStarts = 0;
  private started = false;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: SandboxPoolOptions) {
    if (!Number.isInteger(options.processes) || options.processes < 1) throw new RangeError('processes must be an integer ≥ 1');
    if (!Number.isInteger(options.runsPerProcess) || options.runsPerProcess < 1) {
      throw new RangeError('runsPerProcess must be an integer ≥ 1');
    }
    this.entry = resolveChildEntry(options.childModulePath, options.childExecArgv);
    this.affinitySlack = Math.max(1, Math.floor(options.runsPerProcess / 4));
  }

  async start(): Promise<void> {
    if (this.closing) throw new Error('SandboxPool is closed');
    if (this.started) return;
    this.started = true;
    const first = Array.from({ length: this.options.processes }, () => this.spawn());
    try {
      await Promise.all(first.map((child) => child.whenReady()));
    } catch (error) {
      await this.close(0);
      throw error;
    }
    this.pump();
  }

  /** Resolves with the run's outcome; rejects only for misuse (closed pool, duplicate runId, non-JSON globals). */
  run(req: RunRequest): Promise<RunOutcome> {
    if (this.closing) return Promise.reject(new Error('SandboxPool is closed'));
    if (this.active.has(req.runId) || this.queue.some((queued) => queued.req.runId === req.runId)) {
      return Promise.reject(new Error(`run ${req.runId} is already in the sandbox`));
    }
    const invalid = invalidLimits(req.limits);
    if (invalid) return Promise.reject(new RangeError(`run ${req.runId}: ${invalid}`));
    let globalsJson: string;
    try {
      globalsJson = JSON.stringify(req.globals);
    } catch (error) {
      return Promise.reject(new TypeError(`run ${req.runId}: globals must be JSON-serializable (${String(error)})`));
    }
    return new Promise<RunOutcome>((resolve) => {
      this.queue.push({ req, globalsJson, resolve });
      this.pump();
    });
  }

  /** True when the run was known: a queued run never starts, a running one has its isolate disposed. */
  cancel(runId: string): boolean {
    const index = this.queue.findIndex((queued) => queued.req.runId === runId);
    if (index >= 0) {
      const [queued] = this.queue.splice(index, 1);
      queued?.resolve(poolOutcome({ status: 'cancelled' }, 0));
      return true;
    }
    const run = this.active.get(runId);
    if (!run) return false;
    if (!run.cancelRequested) {
      run.cancelRequested = true;
      run.child.send({ t: 'cancel', runId });
      run.cancelTimer = setTimeout(() => {
        if (this.active.get(runId) !== run) return;
        this.options.logger?.warn({ runId, pid: run.child.pid }, 'sandbox child did not confirm a cancel; killing it');
        run.child.kill();
      }, CANCEL_KILL_MS);
    }
    return true;
  }

  stats(): SandboxStats {
    const live = [...this.children].filter((child) => !child.hasExited);
    return {
      processes: live.length,
      busy: this.active.size,
      queued: this.queue.length,
      capacity: this.options.processes * this.options.runsPerProcess,
      restarts: this.restarts,
      pids: live.flatMap((child) => (child.pid === undefined ? [] : [child.pid])),
    };
  }

  /**
   * Stops taking runs, lets running ones finish for up to graceMs, then kills
   * the children. Runs still queued or still running end `crashed` (retryable).
   */
  close(graceMs: number = DEFAULT_CLOSE_GRACE_MS): Promise<void> {
    this.closing ??= this.shutdown(graceMs);
    return this.closing;
  }

  private async shutdown(graceMs: number): Promise<void> {
    for (const timer of this.respawnTimers) clearTimeout(timer);
    this.respawnTimers.clear();
    for (const queued of this.queue.splice(0)) {
      queued.resolve(poolOutcome({ status: 'crashed', message: 'the sandbox pool closed before the run started' }, 0));
    }
    if (this.active.size > 0 && graceMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.idleWaiters.push(resolve)),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, graceMs);
        }),
      ]);
      clearTimeout(timer);
    }
    await Promise.all([...this.children].map((child) => child.terminate()));
  }

  private spawn(): SandboxChild {
    const child = new SandboxChild(
      this.entry,
      { ...this.options.childEnv },
      {
        onMessage: (from, message) => this.onChildMessage(from, message),
        onExit: (from, code, signal) => this.onChildExit(from, code, signal),
      },
      this.options.sourceCacheBytes,
    );
    this.children.add(child);
    child.whenReady().then(
      () => {
        this.failedStarts = 0;
        this.pump();
      },
      () => undefined,
    );
    return child;
  }

  private pump(): void {
    while (this.queue.length > 0 && !this.closing) {
      const head = this.queue[0];
      if (!head) return;
      const child = this.pickChild(isolateKey(head.req));
      if (!child) return;
      this.queue.shift();
      this.dispatch(head, child);
    }
  }

  /** A ready child with room, preferring one that recently ran the same isolation key (see choosePlacement). */
  private pickChild(key: string): SandboxChild | undefined {
    const open: SandboxChild[] = [];
    const candidates: PlacementCandidate[] = [];
    for (const child of this.children) {
      if (!child.isReady || child.runs.size >= this.options.runsPerProcess) continue;
      open.push(child);
      candidates.push({ load: child.runs.size, warm: child.recentKeys.has(key) });
    }
    return open[choosePlacement(candidates, this.affinitySlack)];
  }

  private dispatch(queued: QueuedRun, child: SandboxChild): void {
    const { req } = queued;
    const { limits } = req;
    const run: ActiveRun = {
      ...queued,
      child,
      gate: new HostGate(req.host, limits.maxRequests),
      startedAt: performance.now(),
      watchdogFired: false,
      cancelRequested: false,
      cancelTimer: undefined,
      watchdog: setTimeout(() => this.onWatchdog(run), limits.timeoutMs + WATCHDOG_MARGIN_MS),
    };
    this.active.set(req.runId, run);
    child.runs.add(req.runId);
    child.recentKeys.note(isolateKey(req));
    child.send({
      t: 'run',
      runId: req.runId,
      isolationKey: req.isolationKey,
      ...this.sourceFields(child, req),
      entry: req.entry,
      globalsJson: queued.globalsJson,
      limits: {
        timeoutMs: limits.timeoutMs,
        memoryMb: limits.memoryMb,
        maxOutputBytes: limits.maxOutputBytes,
        maxLogBytes: limits.maxLogBytes,
        maxRequests: limits.maxRequests,
      },
    });
  }

  private sourceFields(child: SandboxChild, req: RunRequest): Pick<Extract<ParentMessage, { t: 'run' }>, 'source' | 'sourceKey' | 'keepSource' | 'forgetSources'> {
    if (!req.sourceKey) return { source: req.source };
    const plan = child.sources.plan(req.sourceKey, req.source);
    return {
      sourceKey: req.sourceKey,
      ...(plan.sendSource ? { source: req.source } : {}),
      ...(plan.keep ? { keepSource: true } : {}),
      ...(plan.forget.length > 0 ? { forgetSources: plan.forget } : {}),
    };
  }

  private onWatchdog(run: ActiveRun): void {
    if (this.active.get(run.req.runId) !== run) return;
    run.watchdogFired = true;
    this.options.logger?.warn(
      { runId: run.req.runId, pid: run.child.pid, timeoutMs: run.req.limits.timeoutMs },
      'sandbox run overran its time limit without an answer; killing its process',
    );
    run.child.kill();
  }

  private onChildMessage(child: SandboxChild, message: Exclude<ChildMessage, { t: 'ready' }>): void {
    const run = this.active.get(message.runId);
    // A child may only speak about its own runs.
    if (!run || run.child !== child) return;
    if (message.t === 'done') {
      if (message.outcome.status === 'crashed' && run.req.sourceKey) child.sources.drop(run.req.sourceKey);
      this.finish(run, outcomeFromWire(message.outcome, performance.now() - run.startedAt));
      return;
    }
    const { runId, callId, op, argsJson } = message;
    void run.gate.call(op, argsJson).then((reply) => {
      if (this.active.get(runId) === run) child.send({ t: 'hostResult', runId, callId, ok: reply.ok, payload: reply.payload });
    });
  }

  private finish(run: ActiveRun, outcome: RunOutcome): void {
    clearTimeout(run.watchdog);
    clearTimeout(run.cancelTimer);
    this.active.delete(run.req.runId);
    run.child.runs.delete(run.req.runId);
    run.resolve(outcome);
    this.pump();
    if (this.active.size === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  private onChildExit(child: SandboxChild, code: number | null, signal: NodeJS.Signals | null): void {
    this.children.delete(child);
    const dying = [...child.runs].flatMap((runId) => {
      const run = this.active.get(runId);
      return run ? [run] : [];
    });
    const results = attributeDeath(
      dying.map((run) => ({
        timeoutMs: run.req.limits.timeoutMs,
        memoryMb: run.req.limits.memoryMb,
        watchdogFired: run.watchdogFired,
        cancelRequested: run.cancelRequested,
      })),
      this.closing !== undefined,
    );
    const now = performance.now();
    dying.forEach((run, i) => {
      const result = results[i];
      if (result) this.finish(run, poolOutcome(result, now - run.startedAt));
    });
    if (this.closing || !this.started) return;
    this.replace(child, code, signal, dying.length);
  }

  private replace(dead: SandboxChild, code: number | null, signal: NodeJS.Signals | null, runs: number): void {
    this.restarts += 1;
    const details = { pid: dead.pid, code, signal, runs, stderr: dead.stderr.trim() || undefined };
    if (dead.becameReady) {
      this.options.logger?.warn(details, 'sandbox child died; starting a replacement');
      this.spawn();
      return;
    }
    // A child that cannot even start would otherwise be respawned in a hot loop.
    this.failedStarts += 1;
    const delay = Math.min(RESPAWN_BACKOFF_MAX_MS, 100 * 2 ** (this.failedStarts - 1));
    this.options.logger?.error({ ...details, retryInMs: delay }, 'sandbox child failed to start');
    const timer = setTimeout(() => {
      this.respawnTimers.delete(timer);
      if (!this.closing) this.spawn();
    }, delay);
    this.respawnTimers.add(timer);
  }
}

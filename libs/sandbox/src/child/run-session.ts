import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { SourceLocationError } from '@kiln/core';
import type ivm from 'isolated-vm';
import type { WireOutcome, WireResult } from '../protocol/ipc.types';
import type { RunEntry, SandboxLimits } from '../sandbox.types';
import type { HostRoute, IsolateCache, IsolateLease } from './isolate-cache';
import { LogCollector } from './log-collector';
import {
  bodyErrorMessage,
  detectScriptStyle,
  ENTRY_MODULE_SOURCE,
  lineCount,
  READY_MODULE_SOURCE,
  READY_MODULE_SPECIFIER,
  SCRIPT_FILENAME,
  userStack,
  wrapScript,
  WRAPPED_LINE_OFFSET,
} from './script-style';

export interface RunSpec {
  runId: string;
  isolationKey: string;
  source: string;
  entry: RunEntry;
  globalsJson: string;
  limits: SandboxLimits;
}

export interface RunSessionDeps {
  isolates: IsolateCache;
  /** Sources whose run outlasted a synchronous slice in this process: they start on isolated-vm's thread. */
  slowSources: SlowSources;
  /** Whether this run is the only one in the process. */
  alone(): boolean;
  sendHostCall(callId: number, op: string, argsJson: string): void;
  onDone(outcome: WireOutcome): void;
}

type Releasable = { release(): void };

/** After a run ends, its last isolate calls get this long to return before the isolate is dropped instead of reused. */
const RECYCLE_GRACE_MS = 250;
const MAX_RANDOM_BYTES = 65536;
const SCRIPT_FAILURE_CODES = new Set(['EXECUTION_ERROR', 'OUTPUT_LIMIT', 'INVALID_OUTPUT']);
/** isolated-vm marks errors that crossed out of an isolate; anything else is our own failure. */
const ISOLATE_BOUNDARY = '<isolated-vm boundary>';
/** What isolated-vm throws when a synchronous call runs past its `timeout`. */
const SYNC_TIMEOUT_MESSAGE = 'Script execution timed out.';
/**
 * How long a classic script may run synchronously on this process's main
 * thread before it is stopped and started again on isolated-vm's thread. It
 * bounds how long one run can hold up the others in this process.
 */
export const SYNC_SLICE_MS = 4;
/** Sources remembered as slow per process; past it the list starts again. */
const MAX_SLOW_SOURCES = 1024;

/** The sources whose runs outlasted SYNC_SLICE_MS in this process. */
export class SlowSources {
  private readonly sources = new Set<string>();

  has(source: string): boolean {
    return this.sources.has(source);
  }

  add(source: string): void {
    if (this.sources.size >= MAX_SLOW_SOURCES) this.sources.clear();
    this.sources.add(source);
  }
}

/** What running a script synchronously for at most a slice came to. */
type SliceResult = { kind: 'settled'; outcome: unknown } | { kind: 'pending' } | { kind: 'overran' };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function errorText(error: unknown): { name: string; message: string; stack: string | undefined } {
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack };
  return { name: 'Error', message: String(error), stack: undefined };
}

/**
 * One run in one isolate: builds a fresh context with the runtime, runs the
 * user's code, and reports exactly one outcome. The wall-clock timer lives
 * here, on the Node side, because isolated-vm's own `timeout` only covers
 * synchronous CPU: disposing the isolate is what ends awaits and loops alike.
 */
export class RunSession {
  private finished = false;
  private disposedByUs = false;
  private lease: IsolateLease | undefined;
  private dispatch: ivm.Reference<unknown> | undefined;
  private readonly releasables: Releasable[] = [];
  private logs: LogCollector;
  private context: ivm.Context | undefined;
  private route: HostRoute | undefined;
  /** Host calls made during a synchronous slice (they arrive through 'call'), sent only if the slice is not thrown away. */
  private heldCalls: [number, string, string][] | undefined;
  /** What the run settled to within its synchronous slice ('done' from the runtime). */
  private settledNow: unknown;
  private readonly startedAt = performance.now();
  private runTimer: NodeJS.Timeout | undefined;
  private timersTimer: NodeJS.Timeout | undefined;
  private inFlightCalls = 0;
  private recycle: ((reusable: boolean) => void) | undefined;
  /** Stack frames below this line are the script wrapper's, not the user's. */
  private lastUserLine = Infinity;

  constructor(
    private readonly spec: RunSpec,
    private readonly deps: RunSessionDeps,
  ) {
    this.logs = new LogCollector(spec.limits.maxLogBytes);
  }

  async start(): Promise<void> {
    const { timeoutMs } = this.spec.limits;
    this.runTimer = setTimeout(
      () => this.abort({ status: 'failed', error: { code: 'TIMEOUT', message: `Script exceeded the time limit of ${timeoutMs} ms` } }),
      timeoutMs,
    );
    try {
      this.lease = await this.deps.isolates.acquire(this.spec.isolationKey, this.spec.limits.memoryMb);
    } catch (error) {
      this.finish({ status: 'crashed', message: `could not create an isolate: ${errorText(error).message}` });
      return;
    }
    if (this.finished) {
      this.deps.isolates.release(this.lease, true);
      return;
    }
    try {
      this.finish(this.fromDispatch(await this.execute(this.lease)));
    } catch (error) {
      this.finish(this.fromError(error));
    }
  }

  cancel(): void {
    this.abort({ status: 'cancelled' });
  }

  deliverHostResult(callId: number, ok: boolean, payload: string): void {
    this.call(['settle', callId, ok, payload]);
  }

  private async execute(lease: IsolateLease): Promise<unknown> {
    const { isolate } = lease;
    const dispatch = this.enter(lease);
    const style = detectScriptStyle(this.spec.source);
    if (style.style === 'rejected') return { kind: 'failed', code: 'EXECUTION_ERROR', message: style.message };
    if (style.style === 'module') return this.executeModule(isolate, this.currentContext(), dispatch);
    this.lastUserLine = lineCount(this.spec.source);
    if (style.bodyError) return this.refuseUnparsable(lease.isolate, style.bodyError);

    // Compiling the wrapper runs nothing. The isolate keeps the last compiled
    // script: one isolate serves one tenant, which mostly runs the same code.
    const script = this.compileScript(lease);
    const { source } = this.spec;
    if (this.deps.alone() && !this.deps.slowSources.has(source)) {
      const slice = this.runSlice(script, dispatch);
      if (slice.kind === 'settled') return slice.outcome;
      if (slice.kind === 'pending') return dispatch.apply(undefined, ['await'], { result: { promise: true, copy: true } });
      this.deps.slowSources.add(source);
      this.discardAttempt();
      return this.runOnThread(script, this.enter(lease));
    }
    return this.runOnThread(script, dispatch);
  }

  /**
   * Takes a fresh context and begins the runtime in it. Setting up a context
   * runs only our own runtime code, so it is done with synchronous calls: each
   * asynchronous call into isolated-vm is a hop to its thread pool and back,
   * which costs more CPU than the work itself.
   */
  private enter(lease: IsolateLease): ivm.Reference<unknown> {
    const fresh = this.deps.isolates.freshContext(lease);
    this.context = fresh.context;
    this.route = fresh.route;
    this.releasables.push(fresh.context, fresh.begin);
    fresh.route.sync = (op, a, b, c) => this.onSyncCall(op, a, b, c);
    fresh.route.send = (callId, op, argsJson) => this.onHostCall(callId, op, argsJson);
    const config = JSON.stringify({
      entry: this.spec.entry,
      maxOutputBytes: this.spec.limits.maxOutputBytes,
      maxLogBytes: this.spec.limits.maxLogBytes,
    });
    const dispatch: ivm.Reference<unknown> = fresh.begin.applySync(undefined, [this.spec.globalsJson, config], { result: { reference: true } });
    this.dispatch = dispatch;
    this.releasables.push(dispatch);
    return dispatch;
  }

  private currentContext(): ivm.Context {
    if (this.context === undefined) throw new Error('no context was entered');
    return this.context;
  }

  /** Evaluating the wrapper runs no user code (see wrapScript); the timeout is there in case a parser ever disagrees. */
  private evaluateWrapper(script: ivm.Script): ivm.Reference<unknown> {
    const wrapper: ivm.Reference<unknown> = script.runSync(this.currentContext(), { reference: true, timeout: this.spec.limits.timeoutMs });
    this.releasables.push(wrapper);
    return wrapper;
  }

  /**
   * Most runs are over in well under a millisecond, and a run that is alone
   * in this process (wait mode, a quiet system) gets its answer sooner with a
   * synchronous call, without the hop to isolated-vm's thread and back. With
   * other runs here, the thread lets this one run while the main thread
   * prepares the next, which serves a busy process better. The call is capped at
   * SYNC_SLICE_MS (or the run's own timeout, when that is shorter): a run that
   * is still computing then is stopped, everything it did is thrown away (its
   * host calls are held until the slice is over, its logs and timers dropped)
   * and it starts again on isolated-vm's thread, where the wall-clock timer
   * governs it, as are later runs of the same source in this process. A run
   * that awaits something (a host call, a timer) goes on from where it is.
   */
  private runSlice(script: ivm.Script, dispatch: ivm.Reference<unknown>): SliceResult {
    const wrapper = this.evaluateWrapper(script);
    const { timeoutMs } = this.spec.limits;
    const sliceMs = Math.min(SYNC_SLICE_MS, timeoutMs);
    this.heldCalls = [];
    try {
      dispatch.applySync(undefined, ['scriptNow', wrapper.derefInto()], { timeout: sliceMs });
    } catch (error) {
      if (sliceMs < timeoutMs && errorText(error).message === SYNC_TIMEOUT_MESSAGE) return { kind: 'overran' };
      // The run ends here (its own timeout, its memory limit): what it asked for goes out, as on the thread.
      this.sendHeldCalls();
      throw error;
    }
    this.sendHeldCalls();
    return this.settledNow === undefined ? { kind: 'pending' } : { kind: 'settled', outcome: this.settledNow };
  }

  private sendHeldCalls(): void {
    const held = this.heldCalls ?? [];
    this.heldCalls = undefined;
    for (const [callId, op, argsJson] of held) this.deps.sendHostCall(callId, op, argsJson);
  }

  /** Forgets a stopped slice: its context never hears from the host again. */
  private discardAttempt(): void {
    if (this.route) {
      this.route.sync = () => undefined;
      this.route.send = () => undefined;
    }
    this.heldCalls = undefined;
    this.settledNow = undefined;
    clearTimeout(this.timersTimer);
    this.timersTimer = undefined;
    this.logs = new LogCollector(this.spec.limits.maxLogBytes);
  }

  /** The user's code on isolated-vm's thread: the wall-clock timer can dispose the isolate whatever the code does. */
  private runOnThread(script: ivm.Script, dispatch: ivm.Reference<unknown>): Promise<unknown> {
    const wrapper = this.evaluateWrapper(script);
    return dispatch.apply(undefined, ['script', wrapper.derefInto()], { result: { promise: true, copy: true } });
  }

  /**
   * Classic code that does not parse on its own: V8's own syntax error when
   * the wrapped text does not compile either (the usual case), else, when it
   * does (it closes the wrapper early, see wrapScript), the parser's error.
   * Never run: only compiled, which runs nothing.
   */
  private refuseUnparsable(isolate: ivm.Isolate, bodyError: SourceLocationError): { kind: 'failed'; code: 'EXECUTION_ERROR'; message: string } {
    const probe = isolate.compileScriptSync(wrapScript(this.spec.source), { filename: SCRIPT_FILENAME, lineOffset: WRAPPED_LINE_OFFSET });
    probe.release();
    return { kind: 'failed', code: 'EXECUTION_ERROR', message: bodyErrorMessage(bodyError) };
  }

  private compileScript(lease: IsolateLease): ivm.Script {
    const { source } = this.spec;
    const last = lease.lastScript;
    if (last?.source === source) return last.script;
    const script = lease.isolate.compileScriptSync(wrapScript(source), { filename: SCRIPT_FILENAME, lineOffset: WRAPPED_LINE_OFFSET });
    lease.lastScript = { source, script };
    last?.script.release();
    return script;
  }

  /**
   * isolated-vm does not hand out a module's evaluation promise, so an entry
   * module imports the user's module and then calls `ready`: its body runs
   * only once the user's top-level awaits are done. Errors in the user's
   * module surface as unhandled rejections, which isolated-vm throws from the
   * call that observed them. Each module is instantiated on its own before the
   * entry links them: evaluating a module that isolated-vm only saw as a
   * dependency crashes the process (isolated-vm 7.0.1).
   */
  private async executeModule(isolate: ivm.Isolate, context: ivm.Context, dispatch: ivm.Reference<unknown>): Promise<unknown> {
    const user = await isolate.compileModule(this.spec.source, { filename: SCRIPT_FILENAME });
    const ready = await isolate.compileModule(READY_MODULE_SOURCE, { filename: READY_MODULE_SPECIFIER });
    this.releasables.push(user, ready);
    await ready.instantiate(context, noImports);
    await user.instantiate(context, noImports);
    await ready.evaluate();
    await user.evaluate();
    const result = dispatch.apply(undefined, ['module', user.namespace.derefInto(), ready.namespace.derefInto()], {
      result: { promise: true, copy: true },
    });
    // Observed below or by finish(); never an unhandled rejection in this process.
    result.catch(() => undefined);
    const entry = await isolate.compileModule(ENTRY_MODULE_SOURCE, { filename: 'kiln:entry' });
    this.releasables.push(entry);
    await entry.instantiate(context, (specifier) => (specifier === READY_MODULE_SPECIFIER ? ready : user));
    await entry.evaluate();
    return result;
  }

  private onSyncCall(op: unknown, a: unknown, b: unknown, c: unknown): unknown {
    switch (op) {
      case 'log':
        return !this.finished && this.logs.add(a, b, c);
      case 'arm':
        this.armTimers(a);
        return undefined;
      case 'random':
        return randomArrayBuffer(a);
      case 'call':
        this.onHostCall(a, b, c);
        return undefined;
      case 'done':
        this.settledNow = settledOutcome(a, b);
        return undefined;
      default:
        return undefined;
    }
  }

  private onHostCall(callId: unknown, op: unknown, argsJson: unknown): void {
    if (this.finished || typeof callId !== 'number' || typeof op !== 'string' || typeof argsJson !== 'string') return;
    if (this.heldCalls) this.heldCalls.push([callId, op, argsJson]);
    else this.deps.sendHostCall(callId, op, argsJson);
  }

  private armTimers(delayMs: unknown): void {
    if (this.finished) return;
    clearTimeout(this.timersTimer);
    const delay = typeof delayMs === 'number' && delayMs > 0 ? Math.min(delayMs, 2 ** 31 - 1) : 0;
    this.timersTimer = setTimeout(() => {
      this.timersTimer = undefined;
      this.call(['timers'], (next) => {
        if (typeof next === 'number' && next >= 0) this.armTimers(next);
      });
    }, delay);
  }

  /** A call into the isolate besides the main one (timers, host results), counted so the isolate is reused only once they are all back. */
  private call(args: unknown[], onResult?: (value: unknown) => void): void {
    const dispatch = this.dispatch;
    if (this.finished || dispatch === undefined) return;
    this.inFlightCalls += 1;
    dispatch.apply(undefined, args, { result: { copy: true } }).then(
      (value: unknown) => {
        this.callReturned();
        if (!this.finished) onResult?.(value);
      },
      (error: unknown) => {
        this.callReturned();
        this.finish(this.fromError(error));
      },
    );
  }

  private callReturned(): void {
    this.inFlightCalls -= 1;
    if (this.inFlightCalls === 0) this.recycle?.(true);
  }

  private fromDispatch(value: unknown): WireResult {
    if (!isRecord(value)) return { status: 'crashed', message: 'the sandbox runtime returned no result' };
    const { kind } = value;
    if (kind === 'completed' && typeof value['output'] === 'string') {
      const outputJson = value['output'];
      if (Buffer.byteLength(outputJson) > this.spec.limits.maxOutputBytes) {
        return outputLimit(this.spec.limits.maxOutputBytes);
      }
      return { status: 'completed', outputJson };
    }
    if (kind === 'suspended' && typeof value['approval'] === 'string') {
      const approvalJson = value['approval'];
      if (Buffer.byteLength(approvalJson) > this.spec.limits.maxOutputBytes) return outputLimit(this.spec.limits.maxOutputBytes);
      return { status: 'suspended', approvalJson };
    }
    const { code, message, stack } = value;
    if (kind === 'failed' && typeof code === 'string' && SCRIPT_FAILURE_CODES.has(code) && typeof message === 'string') {
      const failureCode = code as 'EXECUTION_ERROR' | 'OUTPUT_LIMIT' | 'INVALID_OUTPUT';
      if (failureCode !== 'EXECUTION_ERROR') return { status: 'failed', error: { code: failureCode, message } };
      return {
        status: 'failed',
        error: { code: failureCode, message, stack: userStack(typeof stack === 'string' ? stack : undefined, message, this.lastUserLine) },
      };
    }
    return { status: 'crashed', message: 'the sandbox runtime returned a malformed result' };
  }

  private fromError(error: unknown): WireResult {
    const { name, message, stack } = errorText(error);
    const isolateGone = this.lease?.isolate.isDisposed === true;
    if (message.includes('memory limit') || (isolateGone && !this.disposedByUs)) {
      return {
        status: 'failed',
        error: { code: 'MEMORY_LIMIT', message: `Script exceeded the memory limit of ${this.spec.limits.memoryMb} MB` },
      };
    }
    if (message === SYNC_TIMEOUT_MESSAGE) {
      return { status: 'failed', error: { code: 'TIMEOUT', message: `Script exceeded the time limit of ${this.spec.limits.timeoutMs} ms` } };
    }
    if (stack?.includes(ISOLATE_BOUNDARY) === true) {
      const header = message.startsWith(`${name}:`) ? message : `${name}: ${message}`;
      return { status: 'failed', error: { code: 'EXECUTION_ERROR', message: header, stack: userStack(stack, header, this.lastUserLine) } };
    }
    return { status: 'crashed', message: `sandbox internal error: ${name}: ${message}` };
  }

  /** Ends the run from outside (timeout, cancel): the isolate may be busy, so it is disposed. */
  private abort(result: WireResult): void {
    if (this.finished) return;
    this.disposedByUs = true;
    this.finish(result, false);
  }

  private finish(result: WireResult, reusable = true): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.runTimer);
    clearTimeout(this.timersTimer);
    this.deps.onDone({
      ...result,
      logs: this.logs.entries,
      logsTruncated: this.logs.truncated,
      durationMs: Math.round(performance.now() - this.startedAt),
    });
    const keep = reusable && result.status !== 'crashed' && !(result.status === 'failed' && !SCRIPT_FAILURE_CODES.has(result.error.code));
    this.retire(keep);
  }

  private retire(reusable: boolean): void {
    const lease = this.lease;
    if (lease === undefined) return;
    if (!reusable) {
      this.disposedByUs = true;
      this.deps.isolates.dispose(lease);
      this.releaseHandles();
      this.deps.isolates.release(lease, false);
      return;
    }
    let done = false;
    const grace = setTimeout(() => settle(false), RECYCLE_GRACE_MS);
    const settle = (keep: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(grace);
      this.recycle = undefined;
      if (!keep) {
        this.disposedByUs = true;
        this.deps.isolates.dispose(lease);
      }
      this.releaseHandles();
      this.deps.isolates.release(lease, keep);
    };
    if (this.inFlightCalls === 0) settle(true);
    else this.recycle = settle;
  }

  private releaseHandles(): void {
    for (const handle of this.releasables.splice(0).reverse()) {
      try {
        handle.release();
      } catch {
        // Handles of a disposed isolate are already gone.
      }
    }
  }
}

/** The runtime's 'done' report back in the dispatcher's result shape; anything else is left for fromDispatch to refuse. */
function settledOutcome(kind: unknown, payload: unknown): unknown {
  if (typeof payload !== 'string') return { kind: 'malformed' };
  if (kind === 'completed') return { kind, output: payload };
  if (kind === 'suspended') return { kind, approval: payload };
  try {
    return JSON.parse(payload);
  } catch {
    return { kind: 'malformed' };
  }
}

function noImports(specifier: string): never {
  throw new Error(`Cannot import "${specifier}": scripts run without a module loader`);
}

function outputLimit(maxOutputBytes: number): WireResult {
  return { status: 'failed', error: { code: 'OUTPUT_LIMIT', message: `Output exceeds the limit of ${maxOutputBytes} bytes` } };
}

function randomArrayBuffer(count: unknown): ArrayBuffer {
  const n = typeof count === 'number' && Number.isInteger(count) ? Math.min(Math.max(count, 0), MAX_RANDOM_BYTES) : 0;
  const bytes = randomBytes(n);
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + n);
}

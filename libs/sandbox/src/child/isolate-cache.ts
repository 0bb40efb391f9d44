import ivm from 'isolated-vm';
import { RUNTIME_FILENAME, RUNTIME_SOURCE } from '../runtime/runtime.source';

export interface IsolateLease {
  readonly key: string;
  readonly isolate: ivm.Isolate;
  /** The runtime, compiled once per isolate and run in each fresh context. */
  readonly runtime: ivm.Script;
  /**
   * The last classic script compiled here, for the next run of the same
   * source. Compiled code only: every run still runs it in its own context.
   */
  lastScript?: { source: string; script: ivm.Script };
  /** A context made while the isolate sat idle, for its next run (see prewarm). */
  warm?: FreshContext;
  uses: number;
}

/** Where a context's host callbacks lead: set by the run that takes the context. */
export interface HostRoute {
  sync(op: unknown, a: unknown, b: unknown, c: unknown): unknown;
  send(callId: unknown, op: unknown, argsJson: unknown): void;
}

/**
 * A context no user code has run in: the runtime is installed with the
 * globals that are the same for every run; `begin(globalsJson, configJson)`
 * adds the run's own and returns the dispatcher (see RUNTIME_SOURCE).
 */
export interface FreshContext {
  context: ivm.Context;
  begin: ivm.Reference<unknown>;
  route: HostRoute;
}

export interface IsolateCacheOptions {
  /** Idle isolates kept for reuse across all keys. */
  maxIdle: number;
  idleTtlMs: number;
  /** Runs after which an isolate is retired, to bound heap fragmentation. */
  maxUses: number;
  /** Called just before the process aborts on a catastrophic isolate error. */
  beforeAbort?: () => void;
}

interface IdleIsolate {
  lease: IsolateLease;
  since: number;
}

function catastrophicErrorHandler(beforeAbort: (() => void) | undefined): (message: string) => void {
  return (message) => {
    // isolated-vm's advice: V8 lost control of an isolate; nothing in this process can be trusted.
    process.stderr.write(`isolated-vm catastrophic error: ${message}\n`);
    try {
      beforeAbort?.();
    } finally {
      process.abort();
    }
  };
}

/**
 * Hands out isolates. One lease is one run: an isolate is never shared by two
 * runs at once, and it is offered again only to the same isolation key and
 * memory limit (each run still gets a fresh context). Isolates that hit a
 * limit or were cancelled are disposed, never returned.
 */
export class IsolateCache {
  private idle: IdleIsolate[] = [];
  private runtimeCode: ivm.ExternalCopy<ArrayBuffer> | undefined;
  /** Whether runtimeCode was remade after a run (see refreshRuntimeCode). */
  private runtimeCodeRefreshed = false;
  private readonly sweeper: NodeJS.Timeout;
  private readonly onCatastrophicError: (message: string) => void;

  constructor(private readonly options: IsolateCacheOptions) {
    this.onCatastrophicError = catastrophicErrorHandler(options.beforeAbort);
    this.sweeper = setInterval(() => this.sweep(), Math.max(1000, options.idleTtlMs / 2));
    this.sweeper.unref();
  }

  get idleCount(): number {
    return this.idle.length;
  }

  async acquire(isolationKey: string, memoryMb: number): Promise<IsolateLease> {
    const key = `${memoryMb}:${isolationKey}`;
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const candidate = this.idle[i];
      if (candidate?.lease.key === key) {
        this.idle.splice(i, 1);
        if (!candidate.lease.isolate.isDisposed) return candidate.lease;
      }
    }
    const isolate = new ivm.Isolate({ memoryLimit: memoryMb, onCatastrophicError: this.onCatastrophicError });
    try {
      return { key, isolate, runtime: await this.compileRuntime(isolate), uses: 0 };
    } catch (error) {
      dispose(isolate);
      throw error;
    }
  }

  /**
   * V8's code cache for the runtime, made by the first isolate of this
   * process, makes every later compile about 5x cheaper. It is our own
   * compiler output, never anything a user supplied.
   */
  private async compileRuntime(isolate: ivm.Isolate): Promise<ivm.Script> {
    if (this.runtimeCode) return isolate.compileScript(RUNTIME_SOURCE, { filename: RUNTIME_FILENAME, cachedData: this.runtimeCode });
    const script = await isolate.compileScript(RUNTIME_SOURCE, { filename: RUNTIME_FILENAME, produceCachedData: true });
    // The typings leave out what produceCachedData adds to the script.
    const produced: unknown = Reflect.get(script, 'cachedData');
    if (produced instanceof ivm.ExternalCopy) this.runtimeCode = produced as ivm.ExternalCopy<ArrayBuffer>;
    return script;
  }

  /**
   * A code cache made at compile time holds only what V8 compiles up front;
   * the runtime's inner functions are compiled on their first call, again in
   * every new isolate. Once a run has called them, the same source compiled
   * again in that isolate comes out of V8's compilation cache with them, and a
   * code cache made from it spares later isolates that work (about 0.2 ms
   * each). Still our own compiler output: bytecode of the runtime source.
   */
  private refreshRuntimeCode(isolate: ivm.Isolate): void {
    if (this.runtimeCodeRefreshed) return;
    this.runtimeCodeRefreshed = true;
    isolate.compileScript(RUNTIME_SOURCE, { filename: RUNTIME_FILENAME, produceCachedData: true }).then(
      (script) => {
        const produced: unknown = Reflect.get(script, 'cachedData');
        if (produced instanceof ivm.ExternalCopy) this.runtimeCode = produced as ivm.ExternalCopy<ArrayBuffer>;
        script.release();
      },
      () => {
        // The isolate went away first; the next clean run tries again.
        this.runtimeCodeRefreshed = false;
      },
    );
  }

  /**
   * The context a run starts in: the one made while the isolate was idle,
   * or a new one. Either way no code but the runtime's has run in it.
   */
  freshContext(lease: IsolateLease): FreshContext {
    const { warm } = lease;
    if (warm) {
      lease.warm = undefined;
      return warm;
    }
    return makeContext(lease);
  }

  release(lease: IsolateLease, reusable: boolean): void {
    lease.uses += 1;
    if (!reusable || lease.isolate.isDisposed || lease.uses >= this.options.maxUses || this.options.maxIdle === 0) {
      this.dispose(lease);
      return;
    }
    this.refreshRuntimeCode(lease.isolate);
    const entry = { lease, since: Date.now() };
    this.idle.push(entry);
    while (this.idle.length > this.options.maxIdle) {
      const oldest = this.idle.shift();
      if (oldest) this.dispose(oldest.lease);
    }
    // After the run's outcome went out: the Outbox sends it at once or on a setImmediate scheduled before this one.
    setImmediate(() => this.prewarm(entry));
  }

  /**
   * Creating a V8 context and installing the runtime in it is most of what a
   * small run costs in the sandbox (about 0.45 ms of 0.9 ms here), so an idle
   * isolate gets its next run's context now instead of on that run's clock.
   * Skipped if the isolate was taken or dropped meanwhile.
   */
  private prewarm(entry: IdleIsolate): void {
    const { lease } = entry;
    if (lease.warm || lease.isolate.isDisposed || !this.idle.includes(entry)) return;
    try {
      lease.warm = makeContext(lease);
    } catch {
      // Near its memory limit, say: the next run makes its own and reports what happens then.
    }
  }

  dispose(lease: IsolateLease): void {
    dispose(lease.isolate);
  }

  disposeAll(): void {
    clearInterval(this.sweeper);
    for (const entry of this.idle) this.dispose(entry.lease);
    this.idle = [];
  }

  private sweep(): void {
    const cutoff = Date.now() - this.options.idleTtlMs;
    const stale = this.idle.filter((entry) => entry.since < cutoff);
    this.idle = this.idle.filter((entry) => entry.since >= cutoff);
    for (const entry of stale) this.dispose(entry.lease);
  }
}

function makeContext(lease: IsolateLease): FreshContext {
  // Synchronous: each asynchronous isolated-vm call is a hop to its thread pool and back, which costs more than the work.
  const context = lease.isolate.createContextSync();
  const route: HostRoute = { sync: () => undefined, send: () => undefined };
  try {
    const factory = lease.runtime.runSync(context, { reference: true });
    try {
      const begin: ivm.Reference<unknown> = factory.applySync(
        undefined,
        [
          // One synchronous callback for logs, timers, randomness and a slice's host calls (fewer handles per run); other host calls fire and forget.
          new ivm.Callback((op: unknown, a: unknown, b: unknown, c: unknown) => route.sync(op, a, b, c)),
          new ivm.Callback((callId: unknown, op: unknown, argsJson: unknown) => route.send(callId, op, argsJson), { ignored: true }),
        ],
        { result: { reference: true } },
      );
      return { context, begin, route };
    } finally {
      factory.release();
    }
  } catch (error) {
    context.release();
    throw error;
  }
}

function dispose(isolate: ivm.Isolate): void {
  if (!isolate.isDisposed) isolate.dispose();
}

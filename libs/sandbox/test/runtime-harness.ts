import ivm from 'isolated-vm';
import { RUNTIME_FILENAME, RUNTIME_SOURCE } from '../src/runtime/runtime.source';

export interface HarnessLog {
  level: string;
  message: string;
  meta?: string;
}

export interface RuntimeHarness {
  /** Runs `body` as an async function in the context (globals installed) and copies its result out. */
  run(body: string): Promise<unknown>;
  logs: HarnessLog[];
  hostCalls: Array<{ id: number; op: string; args: unknown }>;
  dispose(): void;
}

export interface HarnessOptions {
  globals?: Record<string, unknown>;
  maxLogBytes?: number;
  /** What the 'log' host call answers: false stops the runtime from sending more. */
  acceptLogs?: boolean;
}

/** The in-isolate runtime in a real isolate, with recording stand-ins for the host callbacks. */
export async function createRuntimeHarness(options: HarnessOptions = {}): Promise<RuntimeHarness> {
  const isolate = new ivm.Isolate({ memoryLimit: 32 });
  const context = await isolate.createContext();
  const script = await isolate.compileScript(RUNTIME_SOURCE, { filename: RUNTIME_FILENAME });
  const factory = await script.run(context, { reference: true });
  const logs: HarnessLog[] = [];
  const hostCalls: RuntimeHarness['hostCalls'] = [];
  const begin: ivm.Reference<unknown> = await factory.apply(
    undefined,
    [
      new ivm.Callback((op: string, a: unknown, b: unknown, c: unknown) => {
        if (op === 'random') return new Uint8Array(a as number).fill(7).buffer;
        if (op !== 'log') return undefined;
        const [level, message, meta] = [a as string, b as string, c as string | undefined];
        logs.push(meta === undefined ? { level, message } : { level, message, meta });
        return options.acceptLogs ?? true;
      }),
      new ivm.Callback((id: number, op: string, args: string) => {
        hostCalls.push({ id, op, args: JSON.parse(args) as unknown });
      }),
    ],
    { result: { reference: true } },
  );
  await begin.apply(
    undefined,
    [
      JSON.stringify(options.globals ?? { input: { a: 1 }, context: { tenantId: 't' } }),
      JSON.stringify({ entry: 'main', maxOutputBytes: 1 << 20, maxLogBytes: options.maxLogBytes ?? 1 << 20 }),
    ],
    { result: { reference: true } },
  );
  return {
    logs,
    hostCalls,
    run: (body) => context.eval(`(async () => {\n${body}\n})()`, { promise: true, copy: true }) as Promise<unknown>,
    dispose: () => isolate.dispose(),
  };
}

import { randomUUID } from 'node:crypto';
import type { HostCall, RunEntry, RunGlobals, RunRequest, SandboxLimits } from '../src';

export const LIMITS: SandboxLimits = {
  timeoutMs: 5000,
  memoryMb: 32,
  maxOutputBytes: 1024 * 1024,
  maxLogBytes: 1024 * 1024,
  maxRequests: 100,
};

export interface RequestOverrides {
  runId?: string;
  isolationKey?: string;
  entry?: RunEntry;
  globals?: Partial<RunGlobals>;
  limits?: Partial<SandboxLimits>;
  host?: HostCall;
}

export function request(source: string, overrides: RequestOverrides = {}): RunRequest {
  return {
    runId: overrides.runId ?? randomUUID(),
    isolationKey: overrides.isolationKey ?? 'tenant-a',
    source,
    entry: overrides.entry ?? 'main',
    globals: { input: { a: 1, b: 2 }, context: { tenantId: 'tenant-a', scriptId: 's1' }, ...overrides.globals },
    limits: { ...LIMITS, ...overrides.limits },
    ...(overrides.host ? { host: overrides.host } : {}),
  };
}

/** A promise plus its resolver, for tests that wait on an event rather than a clock. */
export function deferred<T = void>(): { promise: Promise<T>; resolve(value: T): void } {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

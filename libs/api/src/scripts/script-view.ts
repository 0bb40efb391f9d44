import type { Script, ScriptVersion, ScriptWithSource } from '@kiln/db';

/** Secret env values never leave the server: only their names. */
export function maskedEnv(envNames: string[] | null): Record<string, string> | null {
  return envNames ? Object.fromEntries(envNames.map((name) => [name, '********'])) : null;
}

export function scriptSummaryView(s: Script) {
  return {
    id: s.id,
    name: s.name,
    description: s.description,
    status: s.status,
    version: s.currentVersion,
    timeoutMs: s.timeoutMs,
    memoryMb: s.memoryMb,
    triggers: s.triggers ?? null,
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
  };
}

export function scriptView(s: ScriptWithSource, envNames: string[] | null) {
  return {
    ...scriptSummaryView(s),
    source: s.source,
    inputSchema: s.inputSchema ?? null,
    env: maskedEnv(envNames),
  };
}

export function versionView(v: ScriptVersion) {
  return { version: v.version, source: v.source, createdAt: v.createdAt.toISOString() };
}

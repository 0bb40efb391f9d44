export const SCOPES = [
  'scripts.read',
  'scripts.write',
  'executions.run',
  'executions.read',
  'webhooks.manage',
  'keys.manage',
  'admin',
] as const;
export type Scope = (typeof SCOPES)[number];

/** A key created without `scopes` gets every scope except `admin` (SPEC §2). */
export const DEFAULT_SCOPES: readonly Scope[] = SCOPES.filter((s) => s !== 'admin');

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

/** `admin` implies every other scope. */
export function hasScope(granted: readonly string[], needed: Scope): boolean {
  return granted.includes('admin') || granted.includes(needed);
}

import { envSchema } from '../../../libs/config/src/env-schema';

/** Every environment variable Kiln reads (libs/config/src/env-schema.ts). */
export const KILN_ENV_NAMES: ReadonlySet<string> = new Set(Object.keys(envSchema.shape));

/** Kiln's defaults, exactly as the apps compute them from an empty environment. */
export function kilnDefaults() {
  // The one variable without a default; any valid key will do here.
  return envSchema.parse({ KILN_ENCRYPTION_KEY: '0'.repeat(64) });
}

/** Kiln's configuration for the given variables (strings, as in an environment). */
export function kilnConfigFor(env: Record<string, string>) {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  return envSchema.parse({ KILN_ENCRYPTION_KEY: '0'.repeat(64), ...cleaned });
}

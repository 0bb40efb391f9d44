import type { AuthContext } from '../auth/auth-context';
import type { RunCommand } from '../runs/runs.service';

/**
 * Beyond a script's own time limit, how long a surface that answers with the
 * result (ApiRun, the code surface) keeps waiting: queueing, a cold isolate,
 * recording the outcome.
 */
export const SURFACE_WAIT_MARGIN_MS = 5_000;

/** The part of a RunCommand every compatibility surface fills the same way from the caller's key. */
export function runCommandBase(auth: AuthContext): Pick<RunCommand, 'tenantId' | 'apiKeyId' | 'monthlyExecutionLimit'> {
  return { tenantId: auth.tenantId, apiKeyId: auth.apiKeyId, monthlyExecutionLimit: auth.monthlyExecutionLimit };
}

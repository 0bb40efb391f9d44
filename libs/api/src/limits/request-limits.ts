import { Injectable } from '@nestjs/common';
import type { KilnConfig } from '@kiln/config';
import { KilnError } from '@kiln/core';
import { InjectConfig } from '@kiln/platform';

/** What a size check found over its limit; null when within. */
export interface SizeProblem {
  field: string;
  bytes: number;
  limitBytes: number;
  variable: string;
  message: string;
}

/** UTF-8 size of `value` against `limitBytes`; the message names the field, both sizes and the variable. */
export function sizeProblem(field: string, value: string, limitBytes: number, variable: string): SizeProblem | null {
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes <= limitBytes) return null;
  return { field, bytes, limitBytes, variable, message: `${field} is ${bytes} bytes; the limit is ${limitBytes} bytes (${variable})` };
}

/**
 * Size limits on what a request carries, beyond the JSON body limit that
 * Fastify enforces (KILN_BODY_LIMIT_BYTES → 413 PAYLOAD_TOO_LARGE):
 * ad-hoc code on the code-execution surface (/api/ai-automation/code/execute)
 * is capped at KILN_ADHOC_CODE_MAX_BYTES (10 KiB). Stored script source is
 * checked by ScriptsService.checkSource (KILN_SCRIPT_SOURCE_MAX_BYTES).
 */
@Injectable()
export class RequestLimits {
  constructor(@InjectConfig() private readonly config: KilnConfig) {}

  /** For surfaces that answer in their own shape (e.g. status: validation_error). */
  adhocCodeProblem(code: string, field = 'code'): SizeProblem | null {
    return sizeProblem(field, code, this.config.runs.adhocCodeMaxBytes, 'KILN_ADHOC_CODE_MAX_BYTES');
  }

  /** Throws 413 CODE_TOO_LARGE (in the surface's error envelope) when the code is over the limit. */
  assertAdhocCode(code: string, field = 'code'): void {
    const problem = this.adhocCodeProblem(code, field);
    if (problem) {
      throw new KilnError(413, 'CODE_TOO_LARGE', problem.message, { field, limitBytes: problem.limitBytes, bytes: problem.bytes, variable: problem.variable });
    }
  }
}

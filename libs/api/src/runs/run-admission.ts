import { Injectable } from '@nestjs/common';

export interface AdmissionRequest {
  tenantId: string;
  apiKeyId: string | null;
  monthlyExecutionLimit: number | null;
}

/**
 * The gate every run passes before its execution row is written: quotas
 * and caps that can refuse it (403 monthly limit, 429 hourly/daily caps).
 * Passing admission counts the run.
 */
@Injectable()
export class RunAdmission {
  async admit(_request: AdmissionRequest): Promise<void> {
    // Quotas are enforced by the limits module when it is installed.
  }
}

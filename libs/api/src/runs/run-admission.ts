import { Injectable } from '@nestjs/common';
import { ExecutionQuotas } from '../limits/execution-quotas';

export interface AdmissionRequest {
  tenantId: string;
  apiKeyId: string | null;
  monthlyExecutionLimit: number | null;
}

/** Passing admission counted the run; refund() un-counts a run that was not accepted after all. */
export interface AdmissionTicket {
  refund(): Promise<void>;
}

/**
 * The gate every run passes before its execution row is written: quotas
 * and caps that can refuse it (403 USAGE_LIMIT_EXCEEDED past the key's
 * monthly limit, 429 RATE_LIMITED past the tenant's hourly/daily cap).
 *
 * Counting rule: a run counts when it is accepted, i.e. its row exists and
 * its job is queued. RunsService refunds the ticket when the run turns out
 * not to be accepted: an idempotent replay (the first run was counted), a
 * failed insert, or a refused enqueue (503, row deleted). Cancelled, failed
 * and retried runs stay counted: they were accepted.
 */
@Injectable()
export class RunAdmission {
  constructor(private readonly quotas: ExecutionQuotas) {}

  async admit(request: AdmissionRequest): Promise<AdmissionTicket> {
    return this.quotas.admit(request);
  }
}

import { Injectable } from '@nestjs/common';
import { ExecutionQuotas } from '../limits/execution-quotas';
import type { PreAdmittedRun } from '../limits/pre-admitted-run';
import { RunBackpressure } from './run-backpressure';

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
  constructor(
    private readonly quotas: ExecutionQuotas,
    private readonly backpressure: RunBackpressure,
  ) {}

  /**
   * Counts the run, or throws the refusal. A run whose quotas the API key
   * guard already decided (PreAdmittedRun) takes that verdict: same answer,
   * one Redis round trip fewer.
   */
  async admit(request: AdmissionRequest, preAdmitted?: PreAdmittedRun): Promise<AdmissionTicket> {
    return preAdmitted?.take() ?? this.quotas.admit(request);
  }

  /**
   * Whether a run may be counted before its request is validated: not while
   * backpressure would hold it, so held requests never count against a
   * quota for up to KILN_QUEUE_HOLD_MAX_MS.
   */
  mayCountEarly(): boolean {
    return !this.backpressure.wouldHold;
  }
}

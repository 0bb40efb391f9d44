import { hostCallStep, MAX_RECORDED_STEPS, type ExecutionStep } from '@kiln/core';
import type { HostCall } from './host-capabilities';

/**
 * Wraps a run's host capabilities and records one step per call (see
 * `ExecutionStep` in @kiln/core). The record rides along with the outcome,
 * so it is written in the same statement as the terminal status.
 */
export class StepRecorder {
  readonly steps: ExecutionStep[] = [];

  constructor(
    private readonly inner: HostCall,
    private readonly limit = MAX_RECORDED_STEPS,
  ) {}

  readonly call: HostCall = async (op, args) => {
    const startedAt = new Date();
    const started = performance.now();
    try {
      const value = await this.inner(op, args);
      this.push(hostCallStep(op, args, { ok: true, value }, startedAt, performance.now() - started));
      return value;
    } catch (err) {
      this.push(hostCallStep(op, args, { ok: false, error: err instanceof Error ? err.message : String(err) }, startedAt, performance.now() - started));
      throw err;
    }
  };

  private push(step: ExecutionStep): void {
    if (this.steps.length < this.limit) this.steps.push(step);
  }
}

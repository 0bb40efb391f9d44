import { asyncWindow, type AsyncWindowResult, type BenchContext } from '../context';
import { round, say } from '../log';

export interface ScalingResults {
  oneWorker: { acceptedPerSec: number; completedPerSec: number };
  twoWorkers: { acceptedPerSec: number; completedPerSec: number };
  /** completed/s with two worker processes ÷ with one. On a 2-core machine everything shares, so ~1 is expected. */
  ratio: number;
  windows: AsyncWindowResult[];
}

/** The same async load with one worker process, then with two. */
export async function scalingScenario(ctx: BenchContext): Promise<ScalingResults> {
  const s = ctx.settings;
  const one = await asyncWindow(ctx, 'scaling-1-worker', 'scaling1', s.scalingDurationMs);
  say('scenario scaling: starting a second worker process');
  const second = await ctx.stack.startApp('worker');
  let two: AsyncWindowResult;
  try {
    two = await asyncWindow(ctx, 'scaling-2-workers', 'scaling2', s.scalingDurationMs);
  } finally {
    await ctx.stack.stopApp(second);
  }
  const ratio = round(two.executions.completedPerSec / Math.max(1e-9, one.executions.completedPerSec), 3);
  say(`  scaling: ${one.executions.completedPerSec}/s with one worker, ${two.executions.completedPerSec}/s with two (×${ratio})`);
  return {
    oneWorker: { acceptedPerSec: one.acceptedPerSec, completedPerSec: one.executions.completedPerSec },
    twoWorkers: { acceptedPerSec: two.acceptedPerSec, completedPerSec: two.executions.completedPerSec },
    ratio,
    windows: [one, two],
  };
}

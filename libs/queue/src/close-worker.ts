import type { Worker } from 'bullmq';

/**
 * SIGTERM for a BullMQ consumer: stop taking jobs and let the active ones
 * finish within the grace period; past it, close anyway and report it. Jobs
 * cut off keep their lock until it expires and are then recovered by another
 * process (stalled-job recovery), so nothing accepted is lost.
 */
export async function closeWorkerWithin(worker: Worker, graceMs: number, onForced: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const forced = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), graceMs);
  });
  const result = await Promise.race([worker.close().then(() => 'closed' as const), forced]);
  clearTimeout(timer);
  if (result === 'timeout') {
    onForced();
    await worker.close(true);
  }
}

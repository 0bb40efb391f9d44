import { Injectable } from '@nestjs/common';
import type { ScriptWithSource } from '@kiln/db';
import { ExecutionQueue } from '@kiln/queue';

/**
 * Keeps BullMQ's job schedulers in step with scripts: an active script with
 * `triggers.cron` has exactly one scheduler (so a tick fires once across the
 * cluster, however many gateways run); anything else has none.
 */
@Injectable()
export class ScriptScheduler {
  constructor(private readonly queue: ExecutionQueue) {}

  async sync(script: ScriptWithSource): Promise<void> {
    if (script.status === 'active' && script.cron) {
      await this.queue.upsertCron({ scriptId: script.id, tenantId: script.tenantId, cron: script.cron, timezone: script.cronTimezone });
    } else {
      await this.queue.removeCron(script.id);
    }
  }

  async remove(scriptId: string): Promise<void> {
    await this.queue.removeCron(scriptId);
  }
}

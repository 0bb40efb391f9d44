import { Injectable, type OnModuleInit } from '@nestjs/common';
import { ScriptRepository, type ScriptWithSource } from '@kiln/db';
import { InvalidationBus } from '@kiln/queue';

const TTL_MS = 30_000;
const LIMIT = 5_000;

/**
 * Runs look their script up on every request; this keeps that lookup off
 * PostgreSQL. Entries are keyed by tenant and id-or-name and dropped on any
 * replica when the script changes (invalidation bus).
 */
@Injectable()
export class ScriptCache implements OnModuleInit {
  private readonly entries = new Map<string, { script: ScriptWithSource; expiresAt: number }>();

  constructor(
    private readonly scripts: ScriptRepository,
    private readonly bus: InvalidationBus,
  ) {}

  onModuleInit(): void {
    this.bus.onInvalidate((message) => {
      if (message.kind === 'script') this.drop(message.id);
    });
  }

  async get(tenantId: string, idOrName: string): Promise<ScriptWithSource | null> {
    const key = `${tenantId}:${idOrName}`;
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && hit.expiresAt > now) return hit.script;
    const script = await this.scripts.findByIdOrName(tenantId, idOrName);
    if (script) {
      if (this.entries.size >= LIMIT) this.entries.delete(this.entries.keys().next().value as string);
      this.entries.set(key, { script, expiresAt: now + TTL_MS });
    } else {
      this.entries.delete(key);
    }
    return script;
  }

  async invalidate(tenantId: string, scriptId: string): Promise<void> {
    await this.bus.publish({ kind: 'script', id: `${tenantId}:${scriptId}` });
  }

  private drop(id: string): void {
    const [tenantId, scriptId] = id.split(':');
    for (const [key, entry] of this.entries) {
      if (entry.script.tenantId === tenantId && entry.script.id === scriptId) this.entries.delete(key);
    }
  }
}

import { Injectable } from '@nestjs/common';
import { Database } from './database';

/**
 * Counts of accepted runs, read from PostgreSQL only to rebuild a quota
 * counter that Redis lost (it keeps nothing on disk). Both queries ride on
 * indexes: executions(api_key_id, created_at) and
 * executions(tenant_id, created_at DESC, id).
 */
@Injectable()
export class UsageRepository {
  constructor(private readonly db: Database) {}

  async countByApiKey(apiKeyId: string, from: Date, to: Date): Promise<number> {
    const { rows } = await this.db.pool.query<{ n: string }>(
      'SELECT count(*)::text AS n FROM executions WHERE api_key_id = $1::uuid AND created_at >= $2 AND created_at < $3',
      [apiKeyId, from, to],
    );
    return Number(rows[0]?.n ?? 0);
  }

  async countByTenant(tenantId: string, from: Date, to: Date): Promise<number> {
    const { rows } = await this.db.pool.query<{ n: string }>(
      'SELECT count(*)::text AS n FROM executions WHERE tenant_id = $1::uuid AND created_at >= $2 AND created_at < $3',
      [tenantId, from, to],
    );
    return Number(rows[0]?.n ?? 0);
  }

  /** The owner of an execution (for run jobs enqueued without tenantId). */
  async tenantOfExecution(executionId: string): Promise<string | null> {
    const { rows } = await this.db.pool.query<{ tenant_id: string }>('SELECT tenant_id::text FROM executions WHERE id = $1::uuid', [executionId]);
    return rows[0]?.tenant_id ?? null;
  }
}

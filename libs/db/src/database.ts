import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';
import { PrismaClient } from './generated/prisma/client';

export interface DatabaseOptions {
  url: string;
  poolSize: number;
  applicationName?: string;
}

/**
 * One pg pool per process, shared by Prisma (CRUD) and by the hand-written
 * SQL of the execution hot path, where one statement per state change
 * matters more than an ORM's convenience.
 */
export class Database {
  readonly pool: Pool;
  readonly prisma: PrismaClient;

  constructor(options: DatabaseOptions) {
    this.pool = new Pool({
      connectionString: options.url,
      max: options.poolSize,
      application_name: options.applicationName ?? 'kiln',
      // Fail fast instead of hanging a request when PostgreSQL is unreachable.
      connectionTimeoutMillis: 5000,
    });
    // An idle client's error (server restart) must not crash the process;
    // the pool replaces the client on next use.
    this.pool.on('error', () => undefined);
    this.prisma = new PrismaClient({ adapter: new PrismaPg(this.pool) });
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.prisma.$disconnect();
    await this.pool.end();
  }
}

/** PostgreSQL unique_violation, whether it surfaced through Prisma or pg. */
export function isUniqueViolation(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: string; cause?: unknown; meta?: { driverAdapterError?: { cause?: { originalCode?: string } } } };
  if (e.code === 'P2002' || e.code === '23505') return true;
  return e.meta?.driverAdapterError?.cause?.originalCode === '23505';
}

import { Inject, Injectable } from '@nestjs/common';
import { Database } from '@kiln/db';
import type { Redis } from 'ioredis';
import { REDIS } from './tokens';

export interface ReadinessReport {
  status: 'ok' | 'error';
  checks: Record<string, { status: 'ok' | 'error'; latencyMs: number; error?: string }>;
}

/** Readiness = both backing services answer (SPEC §3 /health/ready). */
@Injectable()
export class ReadinessProbe {
  constructor(
    private readonly database: Database,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  async check(timeoutMs = 2000): Promise<ReadinessReport> {
    const [postgres, redis] = await Promise.all([
      this.probe(() => this.database.ping(), timeoutMs),
      this.probe(async () => void (await this.redis.ping()), timeoutMs),
    ]);
    return { status: postgres.status === 'ok' && redis.status === 'ok' ? 'ok' : 'error', checks: { postgres, redis } };
  }

  private async probe(fn: () => Promise<void>, timeoutMs: number): Promise<{ status: 'ok' | 'error'; latencyMs: number; error?: string }> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        fn(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      return { status: 'ok', latencyMs: Math.round(performance.now() - started) };
    } catch (err) {
      return { status: 'error', latencyMs: Math.round(performance.now() - started), error: (err as Error).message };
    } finally {
      clearTimeout(timer);
    }
  }
}

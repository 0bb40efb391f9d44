import type { LogEntry, LogLevel } from '../sandbox.types';

/**
 * Every entry costs its text plus this much, standing for level and time: the
 * stored JSON stays under the cap, and a flood of empty lines ends as quickly
 * as a flood of long ones.
 */
export const LOG_ENTRY_OVERHEAD_BYTES = 32;

const LEVELS: ReadonlySet<string> = new Set<LogLevel>(['debug', 'info', 'warn', 'error', 'log']);

function isLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && LEVELS.has(value);
}

function parseMeta(json: string): unknown {
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return json;
  }
}

/** Collects a run's log lines up to a byte budget, then one marker line. */
export class LogCollector {
  readonly entries: LogEntry[] = [];
  private used = 0;
  private full = false;

  constructor(private readonly maxBytes: number) {}

  get truncated(): boolean {
    return this.full;
  }

  /** Returns whether more lines are welcome, so the isolate stops sending once full. */
  add(level: unknown, message: unknown, metaJson?: unknown): boolean {
    if (this.full) return false;
    const text = typeof message === 'string' ? message : String(message);
    const meta = typeof metaJson === 'string' ? metaJson : undefined;
    const cost = Buffer.byteLength(text) + (meta === undefined ? 0 : Buffer.byteLength(meta)) + LOG_ENTRY_OVERHEAD_BYTES;
    if (this.used + cost > this.maxBytes) {
      this.full = true;
      this.entries.push({
        level: 'warn',
        message: `[logs truncated: limit of ${this.maxBytes} bytes reached]`,
        time: new Date().toISOString(),
      });
      return false;
    }
    this.used += cost;
    const entry: LogEntry = { level: isLevel(level) ? level : 'log', message: text, time: new Date().toISOString() };
    if (meta !== undefined) entry.meta = parseMeta(meta);
    this.entries.push(entry);
    return true;
  }
}

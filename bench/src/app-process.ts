import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';

export type AppName = 'gateway' | 'worker' | 'notifier';

const READY_MESSAGE: Record<AppName, string> = {
  gateway: 'gateway listening',
  worker: 'worker started',
  notifier: 'notifier started',
};

/** Every app process this harness spawned and that still runs: killed on exit whatever happened. */
const live = new Set<ChildProcess>();

export function killAllApps(): void {
  for (const child of live) child.kill('SIGKILL');
}

export interface LogLine {
  level?: number | string;
  msg?: string;
  [key: string]: unknown;
}

/**
 * One Kiln app as production runs it: `node --no-node-snapshot
 * dist/apps/<app>/src/main.js`. Its JSON log lines go to a file (and the
 * last few stay in memory for error messages); readiness is the app's own
 * "listening"/"started" line.
 */
export class BenchApp {
  private readonly recent: string[] = [];
  private readonly listeners = new Set<(line: LogLine) => void>();
  private readonly log: WriteStream;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private readonly exited: Promise<void>;
  url = '';
  healthPort = 0;

  private constructor(
    readonly name: AppName,
    readonly label: string,
    readonly child: ChildProcess,
    readonly logFile: string,
  ) {
    this.log = createWriteStream(logFile, { flags: 'a' });
    const onLine = (raw: string, stream: 'out' | 'err') => {
      this.log.write(stream === 'err' ? `[stderr] ${raw}\n` : `${raw}\n`);
      this.recent.push(raw);
      if (this.recent.length > 60) this.recent.shift();
      if (stream === 'err') return;
      let line: LogLine;
      try {
        line = JSON.parse(raw) as LogLine;
      } catch {
        return;
      }
      if (typeof line.url === 'string') this.url = line.url;
      if (typeof line.healthPort === 'number') this.healthPort = line.healthPort;
      for (const listener of this.listeners) listener(line);
    };
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (raw) => onLine(raw, 'out'));
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (raw) => onLine(raw, 'err'));
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve();
      }),
    );
  }

  static async start(
    name: AppName,
    options: { root: string; env: Record<string, string>; logDir: string; label?: string; nodeArgs?: string[]; timeoutMs?: number },
  ): Promise<BenchApp> {
    const entry = path.join(options.root, 'dist', 'apps', name, 'src', 'main.js');
    if (!existsSync(entry)) throw new Error(`${entry} is missing: run the benchmark with \`npm run bench\` (it builds dist/ first)`);
    const label = options.label ?? name;
    const child = spawn(process.execPath, ['--no-node-snapshot', ...(options.nodeArgs ?? []), entry], {
      cwd: options.root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(child);
    child.once('exit', () => live.delete(child));
    const app = new BenchApp(name, label, child, path.join(options.logDir, `${label}.log`));
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${READY_MESSAGE[name]}" line within ${options.timeoutMs ?? 30_000} ms`)), options.timeoutMs ?? 30_000);
      const listener = (line: LogLine) => {
        if (line.msg !== READY_MESSAGE[name]) return;
        clearTimeout(timer);
        app.listeners.delete(listener);
        resolve();
      };
      app.listeners.add(listener);
      void app.exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`exited (${JSON.stringify(app.exitInfo)}) while starting`));
      });
    });
    try {
      await ready;
    } catch (err) {
      child.kill('SIGKILL');
      throw new Error(`${label} did not start: ${(err as Error).message}\n${app.output()}`);
    }
    return app;
  }

  get pid(): number {
    return this.child.pid as number;
  }

  get hasExited(): boolean {
    return this.exitInfo !== null;
  }

  onLog(listener: (line: LogLine) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** SIGTERM (graceful), SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (!this.exitInfo) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
      await this.exited;
      clearTimeout(timer);
    }
    await new Promise<void>((resolve) => this.log.end(resolve));
  }

  /** Last resort on exit: no await possible. */
  killNow(): void {
    if (!this.exitInfo) this.child.kill('SIGKILL');
  }

  output(): string {
    return this.recent.slice(-30).join('\n');
  }
}

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';

export type AppName = 'gateway' | 'worker' | 'notifier' | 'all-in-one';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

const READY_MESSAGE: Record<AppName, string> = {
  gateway: 'gateway listening',
  worker: 'worker started',
  notifier: 'notifier started',
  'all-in-one': 'kiln (gateway + worker + notifier) listening',
};

export interface LogLine {
  level?: string;
  msg?: string;
  [key: string]: unknown;
}

/**
 * A Kiln app running as a real process from the build in dist/, exactly as
 * it runs in production; tests talk to it over loopback.
 */
export class AppProcess {
  readonly logs: LogLine[] = [];
  readonly stderr: string[] = [];
  private readonly listeners = new Set<(line: LogLine) => void>();
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    readonly name: AppName,
    readonly child: ChildProcess,
  ) {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (raw) => {
      let line: LogLine;
      try {
        line = JSON.parse(raw) as LogLine;
      } catch {
        line = { msg: raw };
      }
      this.logs.push(line);
      for (const listener of this.listeners) listener(line);
    });
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (raw) => this.stderr.push(raw));
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      }),
    );
  }

  static async start(name: AppName, env: Record<string, string>, timeoutMs = 30_000): Promise<AppProcess> {
    const entry = path.join(REPO_ROOT, 'dist', 'apps', name, 'src', 'main.js');
    if (!existsSync(entry)) throw new Error(`${entry} is missing: run the tests with \`npm test\` (it builds dist/ first)`);
    const child = spawn(process.execPath, ['--no-node-snapshot', entry], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const app = new AppProcess(name, child);
    try {
      await app.waitForLog((line) => line.msg === READY_MESSAGE[name], timeoutMs);
    } catch (err) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not start: ${(err as Error).message}\n${app.output()}`);
    }
    return app;
  }

  /** Base URL of the gateway (or all-in-one) HTTP server. */
  get url(): string {
    const line = this.logs.find((l) => typeof l.url === 'string');
    if (!line) throw new Error(`${this.name} has no HTTP URL`);
    return line.url as string;
  }

  /** Port of a worker's or notifier's health/metrics listener. */
  get healthPort(): number {
    const line = this.logs.find((l) => typeof l.healthPort === 'number');
    if (!line) throw new Error(`${this.name} has no health port`);
    return line.healthPort as number;
  }

  get pid(): number {
    return this.child.pid as number;
  }

  get hasExited(): boolean {
    return this.exitInfo !== null;
  }

  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs = 15_000): Promise<LogLine> {
    const found = this.logs.find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`no matching log line within ${timeoutMs} ms`));
      }, timeoutMs);
      const listener = (line: LogLine) => {
        if (!predicate(line)) return;
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve(line);
      };
      this.listeners.add(listener);
      void this.exited.then(() => {
        if (!this.listeners.has(listener)) return;
        clearTimeout(timer);
        this.listeners.delete(listener);
        reject(new Error(`${this.name} exited (${JSON.stringify(this.exitInfo)}) while waiting for a log line`));
      });
    });
  }

  /** Sends a signal and waits for the process to exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.exitInfo) return this.exitInfo;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const info = await this.exited;
    clearTimeout(timer);
    return info;
  }

  kill(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.stop('SIGKILL');
  }

  output(): string {
    return [...this.logs.slice(-40).map((l) => JSON.stringify(l)), ...this.stderr.slice(-40)].join('\n');
  }
}

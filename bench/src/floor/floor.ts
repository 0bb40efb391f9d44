import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';

/** Controls the floor server (floor-server.ts) in a child process of its own. */
export class FloorServer {
  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
    readonly isolates: number,
    readonly runsPerIsolate: number,
  ) {}

  static async start(scripts: Record<string, string>): Promise<FloorServer> {
    const child = fork(path.join(__dirname, 'floor-server.js'), [], {
      execArgv: ['--no-node-snapshot'],
      env: { ...process.env, KILN_FLOOR_SCRIPTS: JSON.stringify(scripts) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ready = await new Promise<{ port: number; isolates: number; runsPerIsolate: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the floor server did not start within 15 s')), 15_000);
      child.once('exit', (code) => reject(new Error(`the floor server exited (${code}) before it was ready`)));
      child.on('message', (m: { type: string; port: number; isolates: number; runsPerIsolate: number }) => {
        if (m.type !== 'ready') return;
        clearTimeout(timer);
        resolve(m);
      });
    });
    return new FloorServer(child, `http://127.0.0.1:${ready.port}`, ready.isolates, ready.runsPerIsolate);
  }

  get pid(): number {
    return this.child.pid as number;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    try {
      this.child.send({ type: 'stop' });
    } catch {
      this.child.kill('SIGKILL');
    }
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 1000);
    await exited;
    clearTimeout(timer);
  }
}

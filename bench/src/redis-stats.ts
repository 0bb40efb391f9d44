import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import type { Redis } from 'ioredis';

/** INFO commandstats: calls per command, for the whole Redis (every client). */
export async function commandStats(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info('commandstats');
  const stats = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) stats.set(match[1] as string, Number(match[2]));
  return stats;
}

export function statsDelta(before: Map<string, number>, after: Map<string, number>): { total: number; byCommand: Record<string, number> } {
  const byCommand: Record<string, number> = {};
  let total = 0;
  for (const [command, calls] of after) {
    const delta = calls - (before.get(command) ?? 0);
    if (delta > 0) {
      byCommand[command] = delta;
      total += delta;
    }
  }
  return { total, byCommand };
}

/** Local port → owning pid of the TCP connections that `pids` hold to `remotePort` (from /proc). */
export function localPortsTo(pids: number[], remotePort: number): Map<number, number> {
  const inodes = new Map<string, number>();
  for (const pid of pids) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        const match = /^socket:\[(\d+)\]$/.exec(target);
        if (match) inodes.set(match[1] as string, pid);
      } catch {
        // closed meanwhile
      }
    }
  }
  const ports = new Map<number, number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let lines: string[] = [];
    try {
      lines = readFileSync(table, 'utf8').split('\n').slice(1);
    } catch {
      continue;
    }
    for (const line of lines) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const local = cols[1] as string;
      const remote = cols[2] as string;
      const pid = inodes.get(cols[9] as string);
      if (pid === undefined) continue;
      if (parseInt(remote.slice(remote.lastIndexOf(':') + 1), 16) !== remotePort) continue;
      ports.set(parseInt(local.slice(local.lastIndexOf(':') + 1), 16), pid);
    }
  }
  return ports;
}

const SCRIPT_COMMANDS = new Set(['eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro']);

export interface AttributedCommands {
  /** Commands Redis executed for our processes, including those run inside Lua scripts (what INFO commandstats counts). */
  total: number;
  /** Commands our processes sent (round trips, pipelined or not); a Lua script counts once. */
  sent: number;
  byCommand: Record<string, number>;
  /** Commands (Lua-internal included) per process label (gateway, worker-1, …). */
  byProcess: Record<string, number>;
  connections: number;
}

/**
 * Counts the Redis commands of our own processes on a Redis that others
 * share: MONITOR sees every command with its client's address, and /proc
 * tells which client ports belong to our processes. Commands run inside a
 * Lua script show up as "lua" right after (Redis ≥ 7) or before (older)
 * the EVAL/EVALSHA that ran them, and are counted for that client.
 * MONITOR slows Redis down: use it only where time is not measured.
 */
export class RedisAttribution {
  private readonly counts = new Map<number, Map<string, number>>();
  private readonly sentBy = new Map<number, number>();
  /** Client port → label of the process that owns it. */
  private readonly ports = new Map<number, string>();
  private lastScriptPort: number | null = null;
  private pendingLua: string[] = [];
  private socket: Socket | null = null;
  private refresher: NodeJS.Timeout | null = null;

  private constructor(
    private readonly pids: () => Map<number, string>,
    private readonly redisPort: number,
  ) {}

  /** `pids`: pid → label of the processes whose commands count. */
  static async start(url: string, pids: () => Map<number, string>): Promise<RedisAttribution> {
    const port = Number(new URL(url).port || 6379);
    const attribution = new RedisAttribution(pids, port);
    attribution.refresh();
    attribution.socket = await openMonitor(url, (source, command) => attribution.onCommand(command, source));
    attribution.refresher = setInterval(() => attribution.refresh(), 500);
    return attribution;
  }

  private refresh(): void {
    const labels = this.pids();
    for (const [port, pid] of localPortsTo([...labels.keys()], this.redisPort)) this.ports.set(port, labels.get(pid) ?? String(pid));
  }

  private count(port: number, command: string): void {
    let byCommand = this.counts.get(port);
    if (!byCommand) {
      byCommand = new Map();
      this.counts.set(port, byCommand);
    }
    byCommand.set(command, (byCommand.get(command) ?? 0) + 1);
  }

  private onCommand(rawCommand: string, source: string): void {
    const command = rawCommand.toLowerCase();
    if (source === 'lua') {
      if (this.lastScriptPort !== null) this.count(this.lastScriptPort, command);
      else this.pendingLua.push(command);
      return;
    }
    const port = Number(source.slice(source.lastIndexOf(':') + 1));
    this.count(port, command);
    this.sentBy.set(port, (this.sentBy.get(port) ?? 0) + 1);
    if (SCRIPT_COMMANDS.has(command)) {
      // Older Redis shows a script's commands before the EVAL itself.
      for (const inner of this.pendingLua) this.count(port, inner);
      this.pendingLua = [];
      this.lastScriptPort = port;
    } else {
      this.lastScriptPort = null;
      this.pendingLua = [];
    }
  }

  stop(): AttributedCommands {
    this.refresh();
    if (this.refresher) clearInterval(this.refresher);
    this.socket?.destroy();
    const byCommand: Record<string, number> = {};
    const byProcess: Record<string, number> = {};
    let total = 0;
    let sent = 0;
    let connections = 0;
    for (const [port, commands] of this.counts) {
      const label = this.ports.get(port);
      if (label === undefined) continue;
      connections += 1;
      sent += this.sentBy.get(port) ?? 0;
      for (const [command, n] of commands) {
        byCommand[command] = (byCommand[command] ?? 0) + n;
        byProcess[label] = (byProcess[label] ?? 0) + n;
        total += n;
      }
    }
    return { total, sent, byCommand, byProcess, connections };
  }
}

/**
 * MONITOR over a plain socket: each line is `+<time> [<db> <client>] "<command>" …`.
 * (ioredis's monitor() mis-parses when lines arrive together with the +OK on a
 * busy server.)
 */
function openMonitor(url: string, onCommand: (source: string, command: string) => void): Promise<Socket> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: u.hostname || '127.0.0.1', port: Number(u.port || 6379) });
    let buffer = '';
    let ready = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('MONITOR did not start within 5 s'));
    }, 5000);
    socket.setEncoding('utf8');
    socket.on('error', (err) => {
      clearTimeout(timer);
      if (!ready) reject(err);
    });
    socket.on('connect', () => {
      const user = decodeURIComponent(u.username);
      const password = decodeURIComponent(u.password);
      if (password) socket.write(user ? `AUTH ${user} ${password}\r\n` : `AUTH ${password}\r\n`);
      const db = u.pathname.replace('/', '');
      if (db) socket.write(`SELECT ${db}\r\n`);
      socket.write('MONITOR\r\n');
    });
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let newline = buffer.indexOf('\r\n');
      while (newline >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 2);
        newline = buffer.indexOf('\r\n');
        if (line.startsWith('-')) {
          clearTimeout(timer);
          socket.destroy();
          reject(new Error(`MONITOR refused: ${line.slice(1)}`));
          return;
        }
        if (line === '+OK') {
          if (!ready) {
            ready = true;
            clearTimeout(timer);
            resolve(socket);
          }
          continue;
        }
        const match = /^\+\d+\.\d+ \[\d+ ([^\]]+)\] "([^"]*)"/.exec(line);
        if (match) onCommand(match[1] as string, match[2] as string);
      }
    });
  });
}

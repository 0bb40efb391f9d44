import { GroupCommit } from '@kiln/core';
import type { Redis } from 'ioredis';

type Reply = { ok: true; value: unknown } | { ok: false; error: unknown };
interface Command {
  name: string;
  args: (string | number)[];
}

const coalescers = new WeakMap<Redis, CommandCoalescer>();

/**
 * Group commit for Redis commands on one connection: a command sent while
 * nothing else is on its way goes out at once, as usual; the commands issued
 * while one is in flight leave together as one pipeline when it returns. On
 * loopback a write to a socket costs more CPU than Redis spends on a small
 * script, so under load this saves most of them; an idle caller (wait mode)
 * gains no latency, unlike ioredis' auto-pipelining, which always waits for
 * the next tick. Each command still gets its own reply or error.
 */
export class CommandCoalescer {
  private readonly group: GroupCommit<Command, Reply>;

  private constructor(private readonly redis: Redis) {
    this.group = new GroupCommit((commands) => this.send(commands), { maxBatch: 256, maxInFlight: 1 });
  }

  /** One coalescer per connection, so every caller on it shares the pipeline. */
  static for(redis: Redis): CommandCoalescer {
    let coalescer = coalescers.get(redis);
    if (!coalescer) {
      coalescer = new CommandCoalescer(redis);
      coalescers.set(redis, coalescer);
    }
    return coalescer;
  }

  async call<T = unknown>(name: string, ...args: (string | number)[]): Promise<T> {
    const reply = await this.group.submit({ name, args });
    if (!reply.ok) throw reply.error;
    return reply.value as T;
  }

  /**
   * Commands that `submit` issues synchronously leave in one pipeline (one
   * write), even on an idle connection: for calls that are known to go
   * together, such as a run's done signal and its tenant-slot release.
   */
  together<T>(submit: () => T): T {
    const release = this.group.hold();
    try {
      return submit();
    } finally {
      release();
    }
  }

  private async send(commands: Command[]): Promise<Reply[]> {
    const [only] = commands;
    if (commands.length === 1 && only) {
      try {
        return [{ ok: true, value: await this.redis.call(only.name, ...only.args) }];
      } catch (error) {
        return [{ ok: false, error }];
      }
    }
    const pipeline = this.redis.pipeline();
    for (const command of commands) pipeline.call(command.name, ...command.args);
    const results = (await pipeline.exec()) ?? [];
    return commands.map((_, i): Reply => {
      const [error, value] = results[i] ?? [new Error('Redis pipeline returned no reply for this command'), undefined];
      return error ? { ok: false, error } : { ok: true, value };
    });
  }
}

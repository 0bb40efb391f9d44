import { Redis } from 'ioredis';
import { createTestRedisPrefix } from '@kiln/testing';
import { CommandCoalescer, LuaScript } from '../src';

describe('CommandCoalescer (real Redis)', () => {
  const redisEnv = createTestRedisPrefix();
  const redis = new Redis(redisEnv.url);
  const key = (name: string) => `${redisEnv.prefix}:coalescer:${name}`;

  afterAll(async () => {
    redis.disconnect();
    await redisEnv.cleanup();
  });

  it('sends a lone command at once, and commands issued meanwhile as one pipeline, each with its own reply', async () => {
    const pipelines = jest.spyOn(redis, 'pipeline');
    const coalescer = CommandCoalescer.for(redis);
    expect(CommandCoalescer.for(redis)).toBe(coalescer);

    expect(await coalescer.call('incr', key('alone'))).toBe(1);
    expect(pipelines).not.toHaveBeenCalled();

    const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => coalescer.call<number>('incrby', key(`n${i % 5}`), i)));
    // The first went alone; the other 49 waited for it and left together.
    expect(pipelines).toHaveBeenCalledTimes(1);
    const totals = new Map<number, number>();
    replies.forEach((reply, i) => {
      const running = (totals.get(i % 5) ?? 0) + i;
      totals.set(i % 5, running);
      expect(reply).toBe(running);
    });
    pipelines.mockRestore();
  });

  it('sends the commands issued together in one pipeline even on an idle connection', async () => {
    const coalescer = CommandCoalescer.for(redis);
    const pipelines = jest.spyOn(redis, 'pipeline');
    const replies = await coalescer.together(() => Promise.all([coalescer.call('incr', key('together')), coalescer.call('incrby', key('together'), 5)]));
    expect(replies).toEqual([1, 6]);
    expect(pipelines).toHaveBeenCalledTimes(1);
    pipelines.mockRestore();
  });

  it('fails only the command that failed', async () => {
    await redis.set(key('text'), 'not a number');
    const coalescer = CommandCoalescer.for(redis);
    const results = await Promise.allSettled([coalescer.call('incr', key('ok1')), coalescer.call('incr', key('text')), coalescer.call('incr', key('ok2'))]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(Error);
  });

  it('runs Lua scripts through it, loading a script Redis does not know yet', async () => {
    const script = new LuaScript(`kiln-test-${redisEnv.prefix}`, `return redis.call('INCRBY', KEYS[1], ARGV[1]) -- ${redisEnv.prefix}`);
    const results = await Promise.all(Array.from({ length: 10 }, () => script.run<number>(redis, [key('lua')], [2])));
    expect(results.sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => 2 * (i + 1)));
  });
});

import { QueueBacklog } from './queue-backlog';

describe('QueueBacklog', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  const backlog = (maxWaitMs = 100, maxHoldMs = 1000) => new QueueBacklog({ maxWaitMs, maxHoldMs }, () => Date.now());

  it('admits at once while the oldest waiting job has waited less than maxWaitMs', async () => {
    const gate = backlog();
    gate.update({ oldestWaitMs: 99, paused: false });
    await expect(gate.admit()).resolves.toEqual({ admitted: true, heldMs: 0 });
  });

  it('holds a run while the backlog is at maxWaitMs, until a reading below it arrives', async () => {
    const gate = backlog();
    gate.update({ oldestWaitMs: 100, paused: false });
    let outcome: unknown;
    void gate.admit().then((a) => (outcome = a));
    await jest.advanceTimersByTimeAsync(300);
    expect(outcome).toBeUndefined();
    expect(gate.holding).toBe(1);
    gate.update({ oldestWaitMs: 150, paused: false });
    await jest.advanceTimersByTimeAsync(0);
    expect(outcome).toBeUndefined();
    gate.update({ oldestWaitMs: 20, paused: false });
    await jest.advanceTimersByTimeAsync(0);
    expect(outcome).toEqual({ admitted: true, heldMs: 300 });
    expect(gate.holding).toBe(0);
  });

  it('refuses a run held for maxHoldMs without room', async () => {
    const gate = backlog(100, 1000);
    gate.update({ oldestWaitMs: 500, paused: false });
    const admission = gate.admit();
    await jest.advanceTimersByTimeAsync(1000);
    await expect(admission).resolves.toEqual({ admitted: false, heldMs: 1000 });
  });

  it('never holds runs for a paused queue, nor when it is switched off', async () => {
    const paused = backlog();
    paused.update({ oldestWaitMs: 10_000, paused: true });
    await expect(paused.admit()).resolves.toMatchObject({ admitted: true });
    const off = backlog(0);
    off.update({ oldestWaitMs: 10_000, paused: false });
    expect(off.enabled).toBe(false);
    await expect(off.admit()).resolves.toMatchObject({ admitted: true });
  });

  it('lets held runs go on shutdown', async () => {
    const gate = backlog();
    gate.update({ oldestWaitMs: 100, paused: false });
    const held = [gate.admit(), gate.admit()];
    gate.releaseAll();
    await expect(Promise.all(held)).resolves.toEqual([
      { admitted: true, heldMs: 0 },
      { admitted: true, heldMs: 0 },
    ]);
  });
});

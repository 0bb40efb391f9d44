import { Outbox, unbatch } from './outbox';

type Message = { t: 'm'; n: number };

function manualOutbox(): { outbox: Outbox<Message>; sent: unknown[]; run(): void; scheduled(): number } {
  const sent: unknown[] = [];
  const queue: Array<() => void> = [];
  const outbox = new Outbox<Message>((message) => sent.push(message), { schedule: (flush) => queue.push(flush) });
  return {
    outbox,
    sent,
    run: () => {
      for (const flush of queue.splice(0)) flush();
    },
    scheduled: () => queue.length,
  };
}

describe('Outbox', () => {
  it('sends a lone message as itself', () => {
    const { outbox, sent, run } = manualOutbox();
    outbox.push({ t: 'm', n: 1 });
    expect(sent).toEqual([]);
    run();
    expect(sent).toEqual([{ t: 'm', n: 1 }]);
  });

  it('coalesces the messages of one turn into one batch, in order, with one scheduled flush', () => {
    const { outbox, sent, run, scheduled } = manualOutbox();
    for (let n = 1; n <= 3; n++) outbox.push({ t: 'm', n });
    expect(scheduled()).toBe(1);
    expect(outbox.size).toBe(3);
    run();
    expect(sent).toEqual([{ t: 'batch', messages: [1, 2, 3].map((n) => ({ t: 'm', n })) }]);
    expect(outbox.size).toBe(0);
    outbox.push({ t: 'm', n: 4 });
    run();
    expect(sent[1]).toEqual({ t: 'm', n: 4 });
  });

  it('flushes on demand and then has nothing left for the scheduled flush', () => {
    const { outbox, sent, run } = manualOutbox();
    outbox.push({ t: 'm', n: 1 });
    outbox.push({ t: 'm', n: 2 });
    outbox.flush();
    expect(sent).toHaveLength(1);
    run();
    expect(sent).toHaveLength(1);
    outbox.push({ t: 'm', n: 3 });
    run();
    expect(sent).toEqual([{ t: 'batch', messages: [{ t: 'm', n: 1 }, { t: 'm', n: 2 }] }, { t: 'm', n: 3 }]);
  });

  it('schedules on setImmediate by default', async () => {
    const sent: unknown[] = [];
    const outbox = new Outbox<Message>((message) => sent.push(message));
    outbox.push({ t: 'm', n: 1 });
    await Promise.resolve();
    outbox.push({ t: 'm', n: 2 });
    expect(sent).toEqual([]);
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(sent).toEqual([{ t: 'batch', messages: [{ t: 'm', n: 1 }, { t: 'm', n: 2 }] }]);
  });
});

describe('Outbox with idleMs', () => {
  // idleMs 2 on a clock the test moves; flushes run when the test says the turn ends.
  function clockedOutbox() {
    const state = { now: 0, sent: [] as unknown[], queue: [] as Array<() => void> };
    const outbox = new Outbox<Message>((message) => state.sent.push(message), { schedule: (flush) => state.queue.push(flush), idleMs: 2, now: () => state.now });
    const endTurn = () => {
      for (const flush of state.queue.splice(0)) flush();
    };
    return { outbox, state, endTurn };
  }

  it('sends at once after a quiet spell, and coalesces while messages keep coming', () => {
    const { outbox, state, endTurn } = clockedOutbox();
    const { sent, queue } = state;
    outbox.push({ t: 'm', n: 1 });
    expect(sent).toEqual([{ t: 'm', n: 1 }]);
    expect(queue).toHaveLength(0);
    // Within idleMs of the last send: the next messages wait for the end of the turn, together.
    state.now = 1;
    outbox.push({ t: 'm', n: 2 });
    outbox.push({ t: 'm', n: 3 });
    expect(sent).toHaveLength(1);
    endTurn();
    expect(sent[1]).toEqual({ t: 'batch', messages: [{ t: 'm', n: 2 }, { t: 'm', n: 3 }] });
    // Quiet again: at once.
    state.now = 10;
    outbox.push({ t: 'm', n: 4 });
    expect(sent[2]).toEqual({ t: 'm', n: 4 });
  });

  it('keeps the order when a message comes while a flush is scheduled, however long ago the last send was', () => {
    const { outbox, state, endTurn } = clockedOutbox();
    const { sent } = state;
    outbox.push({ t: 'm', n: 1 });
    state.now = 1;
    outbox.push({ t: 'm', n: 2 });
    state.now = 50;
    outbox.push({ t: 'm', n: 3 });
    expect(sent).toEqual([{ t: 'm', n: 1 }]);
    endTurn();
    expect(sent[1]).toEqual({ t: 'batch', messages: [{ t: 'm', n: 2 }, { t: 'm', n: 3 }] });
  });
});

describe('unbatch', () => {
  it('opens batches and passes anything else through', () => {
    expect(unbatch({ t: 'batch', messages: [1, { t: 'x' }] })).toEqual([1, { t: 'x' }]);
    expect(unbatch({ t: 'x' })).toEqual([{ t: 'x' }]);
    expect(unbatch(null)).toEqual([null]);
    expect(unbatch('text')).toEqual(['text']);
  });

  it('drops a malformed batch', () => {
    expect(unbatch({ t: 'batch' })).toEqual([]);
    expect(unbatch({ t: 'batch', messages: 'no' })).toEqual([]);
  });
});

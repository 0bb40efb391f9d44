import { SourceLedger, SourceStore } from './source-ledger';

describe('SourceLedger and SourceStore', () => {
  /** Both sides as the pool and a child use them: the plan rides on the run message. */
  function channel(maxBytes: number) {
    const ledger = new SourceLedger(maxBytes);
    const store = new SourceStore();
    return {
      ledger,
      store,
      run(key: string, source: string) {
        const plan = ledger.plan(key, source);
        const message = { sourceKey: key, ...(plan.sendSource ? { source } : {}), keepSource: plan.keep, forgetSources: plan.forget };
        return { sent: plan.sendSource, source: store.resolve(message) };
      },
    };
  }

  it('sends a source once, then its key alone', () => {
    const c = channel(1000);
    expect(c.run('a:1', 'code-a')).toEqual({ sent: true, source: 'code-a' });
    expect(c.run('a:1', 'code-a')).toEqual({ sent: false, source: 'code-a' });
    expect(c.ledger.heldBytes).toBe('code-a'.length * 2);
  });

  it('evicts the least recently used source and tells the child to drop it', () => {
    const c = channel(24); // two 6-character sources
    c.run('a:1', 'code-a');
    c.run('b:1', 'code-b');
    c.run('a:1', 'code-a'); // a is now the most recent
    expect(c.run('c:1', 'code-c').sent).toBe(true);
    expect(c.store.size).toBe(2);
    expect(c.run('a:1', 'code-a')).toEqual({ sent: false, source: 'code-a' });
    expect(c.run('b:1', 'code-b')).toEqual({ sent: true, source: 'code-b' });
    expect(c.ledger.size).toBe(2);
    expect(c.store.size).toBe(2);
  });

  it('never keeps a source larger than the whole budget', () => {
    const c = channel(10);
    expect(c.run('big:1', 'x'.repeat(6))).toEqual({ sent: true, source: 'xxxxxx' });
    expect(c.run('big:1', 'x'.repeat(6)).sent).toBe(true);
    expect(c.store.size).toBe(0);
  });

  it('sends a dropped key again', () => {
    const c = channel(1000);
    c.run('a:1', 'code-a');
    c.ledger.drop('a:1');
    expect(c.run('a:1', 'code-a').sent).toBe(true);
    expect(c.ledger.heldBytes).toBe(12);
  });

  it('answers undefined for a key the child does not hold', () => {
    expect(new SourceStore().resolve({ sourceKey: 'a:1' })).toBeUndefined();
  });
});

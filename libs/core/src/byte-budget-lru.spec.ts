import { ByteBudgetLru } from './byte-budget-lru';

describe('ByteBudgetLru', () => {
  it('pushes out the least recently used entries past its budget and says which', () => {
    const lru = new ByteBudgetLru<string>(10);
    expect(lru.set('a', 'A', 4)).toEqual([]);
    expect(lru.set('b', 'B', 4)).toEqual([]);
    expect(lru.get('a')).toBe('A'); // a is now more recent than b
    expect(lru.set('c', 'C', 4)).toEqual(['b']);
    expect([lru.has('a'), lru.has('b'), lru.has('c')]).toEqual([true, false, true]);
    expect(lru.bytes).toBe(8);
  });

  it('never keeps an entry heavier than the whole budget', () => {
    const lru = new ByteBudgetLru<string>(10);
    lru.set('a', 'A', 4);
    expect(lru.set('big', 'B', 11)).toBe(false);
    expect([lru.has('big'), lru.has('a'), lru.size]).toEqual([false, true, 1]);
  });

  it('replaces a key in place, and forgets a deleted one', () => {
    const lru = new ByteBudgetLru<number>(10);
    lru.set('a', 1, 4);
    lru.set('a', 2, 6);
    expect([lru.get('a'), lru.bytes, lru.size]).toEqual([2, 6, 1]);
    lru.delete('a');
    lru.delete('missing');
    expect([lru.get('a'), lru.bytes, lru.size]).toEqual([undefined, 0, 0]);
  });
});

import { ScriptSourceCache, scriptVersionKey } from './script-source-cache';

describe('ScriptSourceCache', () => {
  it('keys a source by script and version', () => {
    const cache = new ScriptSourceCache(1000);
    cache.set('s1', 1, 'one');
    expect(cache.get('s1', 1)).toBe('one');
    expect(cache.get('s1', 2)).toBeUndefined();
    expect(scriptVersionKey('s1', 2)).toBe('s1:2');
  });

  it('drops the least recently used source past its budget, and never keeps one larger than the budget', () => {
    const cache = new ScriptSourceCache(12); // two 3-character sources
    cache.set('a', 1, 'aaa');
    cache.set('b', 1, 'bbb');
    expect(cache.get('a', 1)).toBe('aaa');
    cache.set('c', 1, 'ccc');
    expect(cache.get('b', 1)).toBeUndefined();
    expect(cache.get('a', 1)).toBe('aaa');
    expect(cache.get('c', 1)).toBe('ccc');
    cache.set('d', 1, 'ddddddd');
    expect(cache.get('d', 1)).toBeUndefined();
    expect(cache.size).toBe(2);
  });
});

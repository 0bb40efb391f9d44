import { choosePlacement, RecentKeys } from './placement';

describe('choosePlacement', () => {
  it('has no answer without candidates', () => {
    expect(choosePlacement([], 2)).toBe(-1);
  });

  it('takes the least loaded child when none is warm, the first one on ties', () => {
    expect(
      choosePlacement(
        [
          { load: 3, warm: false },
          { load: 1, warm: false },
          { load: 1, warm: false },
        ],
        2,
      ),
    ).toBe(1);
  });

  it('prefers a warm child that is at most `slack` runs busier', () => {
    const candidates = [
      { load: 1, warm: false },
      { load: 3, warm: true },
    ];
    expect(choosePlacement(candidates, 2)).toBe(1);
    expect(choosePlacement(candidates, 1)).toBe(0);
  });

  it('takes the least loaded of several warm children', () => {
    expect(
      choosePlacement(
        [
          { load: 0, warm: false },
          { load: 2, warm: true },
          { load: 1, warm: true },
        ],
        1,
      ),
    ).toBe(2);
  });
});

describe('RecentKeys', () => {
  it('keeps the most recently noted keys up to its capacity', () => {
    const keys = new RecentKeys(2);
    keys.note('a');
    keys.note('b');
    keys.note('a');
    keys.note('c');
    expect(['a', 'b', 'c'].map((key) => keys.has(key))).toEqual([true, false, true]);
  });
});

import { LOG_ENTRY_OVERHEAD_BYTES, LogCollector } from './log-collector';

describe('LogCollector', () => {
  it('stores entries with level, time and parsed meta', () => {
    const logs = new LogCollector(10_000);
    expect(logs.add('info', 'hello', '{"a":1}')).toBe(true);
    expect(logs.add('nonsense', 'x')).toBe(true);
    expect(logs.entries).toEqual([
      { level: 'info', message: 'hello', time: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/), meta: { a: 1 } },
      { level: 'log', message: 'x', time: expect.any(String) },
    ]);
    expect(logs.truncated).toBe(false);
  });

  it('stops at the byte budget with one marker entry', () => {
    const line = 'x'.repeat(100);
    const logs = new LogCollector(3 * (100 + LOG_ENTRY_OVERHEAD_BYTES));
    const accepted = Array.from({ length: 10 }, () => logs.add('log', line));
    expect(accepted).toEqual([true, true, true, false, false, false, false, false, false, false]);
    expect(logs.truncated).toBe(true);
    expect(logs.entries).toHaveLength(4);
    expect(logs.entries[3]).toEqual({
      level: 'warn',
      message: `[logs truncated: limit of ${3 * (100 + LOG_ENTRY_OVERHEAD_BYTES)} bytes reached]`,
      time: expect.any(String),
    });
  });

  it('counts UTF-8 bytes, not characters', () => {
    const logs = new LogCollector(LOG_ENTRY_OVERHEAD_BYTES + 5);
    expect(logs.add('log', 'ééé')).toBe(false);
  });
});

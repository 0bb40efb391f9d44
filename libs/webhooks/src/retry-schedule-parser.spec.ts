import { DEFAULT_RETRY_SCHEDULE, parseRetrySchedule, RetryScheduleError } from './index';

describe('parseRetrySchedule', () => {
  it('reads the SPEC default', () => {
    expect(DEFAULT_RETRY_SCHEDULE).toBe('1s,5s,15s');
    expect(parseRetrySchedule('1s,5s,15s')).toEqual([1000, 5000, 15000]);
  });

  it.each([
    ['250ms', [250]],
    ['2m', [120_000]],
    ['1h', [3_600_000]],
    [' 100ms , 2s,  3m ', [100, 2000, 180_000]],
    ['0s', [0]],
    ['', []],
    ['   ', []],
  ])('%j → %j', (text, expected) => {
    expect(parseRetrySchedule(text)).toEqual(expected);
  });

  it('names the setting and the bad token', () => {
    expect(() => parseRetrySchedule('1s,x5,15s')).toThrow(
      new RetryScheduleError("KILN_WEBHOOK_RETRY_SCHEDULE: 'x5' is not a duration like 5s"),
    );
    expect(() => parseRetrySchedule('1s,x5', 'MY_SETTING')).toThrow("MY_SETTING: 'x5' is not a duration like 5s");
  });

  it.each(['5', '5 s', '1.5s', '-1s', '5S', '5d', '5sec', 's', '1s;5s', 'ms5'])('rejects %j', (token) => {
    expect(() => parseRetrySchedule(`1s,${token}`)).toThrow(`'${token}' is not a duration like 5s`);
  });

  it('rejects an empty item', () => {
    expect(() => parseRetrySchedule('1s,,5s')).toThrow("'' is not a duration like 5s");
    expect(() => parseRetrySchedule('1s,')).toThrow(RetryScheduleError);
  });

  it('rejects durations too long to represent', () => {
    expect(() => parseRetrySchedule('9999999999999999h')).toThrow("'9999999999999999h' is too long");
  });
});

import { ConfigError, loadConfig } from './kiln-config';

const base = { KILN_ENCRYPTION_KEY: 'ab'.repeat(32) };

describe('webhook settings', () => {
  it('defaults to the SPEC schedule, a 10 s timeout, concurrency 50 and a 10 s breaker', () => {
    expect(loadConfig(base).notifier).toEqual({
      port: 3002,
      concurrency: 50,
      retrySchedule: '1s,5s,15s',
      timeoutMs: 10_000,
      breakerResetMs: 10_000,
      breakerVolumeThreshold: 5,
      relayAfterMs: 5_000,
    });
  });

  it('accepts another schedule and refuses one it cannot read, naming the variable', () => {
    expect(loadConfig({ ...base, KILN_WEBHOOK_RETRY_SCHEDULE: '200ms,1m,2h' }).notifier.retrySchedule).toBe('200ms,1m,2h');
    try {
      loadConfig({ ...base, KILN_WEBHOOK_RETRY_SCHEDULE: '1s,5,15s' });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems).toEqual([expect.stringMatching(/^KILN_WEBHOOK_RETRY_SCHEDULE: .*'5' is not a duration/)]);
    }
  });
});

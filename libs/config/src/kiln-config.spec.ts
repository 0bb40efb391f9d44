import { ConfigError, loadConfig } from './kiln-config';

const key = 'a'.repeat(64);

describe('loadConfig', () => {
  it('applies the SPEC defaults', () => {
    const config = loadConfig({ KILN_ENCRYPTION_KEY: key });
    expect(config.http.port).toBe(3000);
    expect(config.http.bodyLimitBytes).toBe(1024 * 1024);
    expect(config.runs.scriptSourceMaxBytes).toBe(256 * 1024);
    expect(config.limits).toEqual({
      rateLimitBurst: 100,
      rateLimitRefillPerSec: 50,
      tenantConcurrency: 5,
      tenantHourlyExecutions: null,
      tenantDailyExecutions: null,
      agentsRateLimitBurst: 10,
      agentsRateLimitRefillPerSec: 1,
      agentsMonthlyExecutions: 1000,
    });
    expect(config.notifier.retrySchedule).toBe('1s,5s,15s');
    expect(config.security.encryptionKey).toHaveLength(32);
    expect(config.redis.prefix).toBe('kiln');
  });

  it('names every bad variable at once, without echoing secrets', () => {
    let error: unknown;
    try {
      loadConfig({ KILN_ENCRYPTION_KEY: 'short', PORT: 'abc', REDIS_URL: 'http://x', KILN_ADMIN_KEY: 'nope' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toContain("PORT: expected an integer between 0 and 65535 (got 'abc')");
    expect(message).toContain('REDIS_URL: expected a URL starting with redis:// or rediss://');
    expect(message).toContain('KILN_ENCRYPTION_KEY: expected 32 bytes');
    expect(message).toContain('KILN_ADMIN_KEY');
    expect(message).not.toContain('nope');
    expect((error as ConfigError).problems).toHaveLength(4);
  });

  it('requires the encryption key and says how to make one', () => {
    expect(() => loadConfig({})).toThrow(/KILN_ENCRYPTION_KEY: is required.*randomBytes\(32\)/);
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ KILN_ENCRYPTION_KEY: key, PORT: '' }).http.port).toBe(3000);
  });

  it('defaults the script SDK limits and refuses a malformed outbound allow-list by name', () => {
    const runs = loadConfig({ KILN_ENCRYPTION_KEY: key }).runs;
    expect(runs).toMatchObject({
      outboundMaxRequests: 100,
      outboundAllow: '',
      outboundTimeoutMs: 10_000,
      outboundMaxResponseBytes: 5 * 1024 * 1024,
      sdkHttpPerMinute: 60,
      sdkCacheMaxValueBytes: 1024 * 1024,
      eventMaxDepth: 8,
    });
    expect(loadConfig({ KILN_ENCRYPTION_KEY: key, KILN_OUTBOUND_ALLOW: '127.0.0.1, *.internal.example, 10.0.0.0/8' }).runs.outboundAllow).toContain('127.0.0.1');
    expect(() => loadConfig({ KILN_ENCRYPTION_KEY: key, KILN_OUTBOUND_ALLOW: 'good.example, 10.0.0.0/99' })).toThrow(
      /KILN_OUTBOUND_ALLOW: expected comma-separated hosts.*'10\.0\.0\.0\/99'/,
    );
  });

  it('accepts a base64 key', () => {
    const b64 = Buffer.alloc(32, 7).toString('base64');
    expect(loadConfig({ KILN_ENCRYPTION_KEY: b64 }).security.encryptionKey.equals(Buffer.alloc(32, 7))).toBe(true);
  });
});

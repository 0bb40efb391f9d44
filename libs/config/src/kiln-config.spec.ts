import { ConfigError, loadConfig } from './kiln-config';

const key = 'a'.repeat(64);

describe('loadConfig', () => {
  it('applies the SPEC defaults', () => {
    const config = loadConfig({ KILN_ENCRYPTION_KEY: key });
    expect(config.http.port).toBe(3000);
    expect(config.http.bodyLimitBytes).toBe(1024 * 1024);
    expect(config.runs.scriptSourceMaxBytes).toBe(256 * 1024);
    expect(config.limits).toEqual({ rateLimitBurst: 100, rateLimitRefillPerSec: 50, tenantConcurrency: 5 });
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

  it('accepts a base64 key', () => {
    const b64 = Buffer.alloc(32, 7).toString('base64');
    expect(loadConfig({ KILN_ENCRYPTION_KEY: b64 }).security.encryptionKey.equals(Buffer.alloc(32, 7))).toBe(true);
  });
});

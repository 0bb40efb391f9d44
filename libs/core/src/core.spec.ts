import { apiKeyPrefix, generateApiKey, hashApiKey, hashesEqual, isApiKeyFormat } from './api-key';
import { checkCron } from './cron';
import { normalizeEndpointPath, isValidEndpointPath } from './http-path';
import { uuidv7, isUuid } from './ids';
import { checkInputSchema, validateInput } from './input-schema';
import { DEFAULT_SCOPES, hasScope } from './scopes';
import { SecretBox } from './secret-box';

describe('api keys', () => {
  it('have the SPEC format and a stable SHA-256 hash', () => {
    const key = generateApiKey();
    expect(key).toMatch(/^ak_[0-9a-f]{64}$/);
    expect(isApiKeyFormat(key)).toBe(true);
    expect(isApiKeyFormat(key.toUpperCase())).toBe(false);
    expect(hashApiKey(key)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashApiKey(key)).toBe(hashApiKey(key));
    expect(apiKeyPrefix(key)).toHaveLength(8);
    expect(generateApiKey()).not.toBe(key);
  });

  it('compares hashes in constant time and rejects different lengths', () => {
    const h = hashApiKey('ak_x');
    expect(hashesEqual(h, h)).toBe(true);
    expect(hashesEqual(h, hashApiKey('ak_y'))).toBe(false);
    expect(hashesEqual(h, h.slice(0, 10))).toBe(false);
  });
});

describe('scopes', () => {
  it('default to everything but admin; admin implies all', () => {
    expect(DEFAULT_SCOPES).not.toContain('admin');
    expect(DEFAULT_SCOPES).toContain('executions.run');
    expect(hasScope(['admin'], 'keys.manage')).toBe(true);
    expect(hasScope(['scripts.read'], 'scripts.write')).toBe(false);
  });
});

describe('SecretBox', () => {
  it('round-trips and detects tampering', () => {
    const box = new SecretBox(Buffer.alloc(32, 1));
    const sealed = box.sealJson({ TOKEN: 's3cret' });
    expect(sealed).not.toContain('s3cret');
    expect(box.openJson(sealed)).toEqual({ TOKEN: 's3cret' });
    const parts = sealed.split('.');
    parts[3] = Buffer.from('tampered').toString('base64url');
    expect(() => box.open(parts.join('.'))).toThrow();
    expect(() => new SecretBox(Buffer.alloc(32, 2)).open(sealed)).toThrow();
  });
});

describe('uuidv7', () => {
  it('is a valid, time-ordered UUID', () => {
    const a = uuidv7(1_700_000_000_000);
    const b = uuidv7(1_700_000_000_001);
    expect(isUuid(a)).toBe(true);
    expect(a[14]).toBe('7');
    expect(a < b).toBe(true);
  });
});

describe('input schema', () => {
  const schema = { type: 'object', required: ['a'], properties: { a: { type: 'number' } }, additionalProperties: false };
  it('names the failing fields', () => {
    expect(validateInput(schema, { a: 1 })).toEqual([]);
    expect(validateInput(schema, {})).toEqual([{ field: 'input.a', message: 'is required' }]);
    expect(validateInput(schema, { a: 'x', b: 2 })).toEqual(
      expect.arrayContaining([
        { field: 'input.a', message: 'must be number' },
        { field: 'input.b', message: 'is not allowed' },
      ]),
    );
  });
  it('rejects schemas ajv cannot compile', () => {
    expect(checkInputSchema({ type: 'nonsense' }).ok).toBe(false);
    expect(checkInputSchema([]).ok).toBe(false);
    expect(checkInputSchema(schema)).toEqual({ ok: true });
  });
});

describe('cron', () => {
  it('accepts 5 and 6 fields with a timezone', () => {
    expect(checkCron('*/5 * * * *').ok).toBe(true);
    expect(checkCron('*/10 * * * * *', 'Europe/Paris').ok).toBe(true);
  });
  it('explains what is wrong', () => {
    expect(checkCron('* * *')).toEqual({ ok: false, message: 'cron must have 5 fields (or 6 with seconds first), got 3' });
    expect(checkCron('99 * * * *')).toMatchObject({ ok: false });
    expect(checkCron('* * * * *', 'Mars/Base')).toMatchObject({ ok: false, message: expect.stringContaining('Mars/Base') });
  });
});

describe('endpoint paths', () => {
  it('match with or without slashes', () => {
    expect(normalizeEndpointPath('/orders/new/')).toBe('orders/new');
    expect(normalizeEndpointPath('orders//new')).toBe('orders/new');
    expect(isValidEndpointPath('/hooks/stripe')).toBe(true);
    expect(isValidEndpointPath('/')).toBe(false);
    expect(isValidEndpointPath('/a b')).toBe(false);
  });
});

import { randomBytes } from 'node:crypto';
import { KilnError } from '@kiln/core';
import { loadConfig } from '@kiln/config';
import { RequestLimits, sizeProblem } from './request-limits';

describe('request size limits', () => {
  const config = loadConfig({ KILN_ENCRYPTION_KEY: randomBytes(32).toString('hex') });
  const limits = new RequestLimits(config);

  it('caps ad-hoc code at 10 KiB by default, counting UTF-8 bytes, and names the variable', () => {
    expect(limits.adhocCodeProblem('x'.repeat(10 * 1024))).toBeNull();
    const over = limits.adhocCodeProblem('é'.repeat(5 * 1024 + 1));
    expect(over).toMatchObject({ bytes: 10 * 1024 + 2, limitBytes: 10 * 1024, variable: 'KILN_ADHOC_CODE_MAX_BYTES' });
    expect(over?.message).toBe('code is 10242 bytes; the limit is 10240 bytes (KILN_ADHOC_CODE_MAX_BYTES)');
    try {
      limits.assertAdhocCode('x'.repeat(20_000));
      throw new Error('not refused');
    } catch (err) {
      expect(err).toBeInstanceOf(KilnError);
      expect(err).toMatchObject({ statusCode: 413, code: 'CODE_TOO_LARGE', details: { field: 'code', limitBytes: 10240, bytes: 20000 } });
    }
  });

  it('follows KILN_ADHOC_CODE_MAX_BYTES', () => {
    const small = new RequestLimits(loadConfig({ KILN_ENCRYPTION_KEY: randomBytes(32).toString('hex'), KILN_ADHOC_CODE_MAX_BYTES: '2048' }));
    expect(small.adhocCodeProblem('x'.repeat(2049))?.limitBytes).toBe(2048);
    expect(sizeProblem('source', 'abc', 2, 'X')?.message).toBe('source is 3 bytes; the limit is 2 bytes (X)');
  });
});

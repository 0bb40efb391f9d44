import { classifyResponse, type DeliveryAttemptResult, type DeliveryClassification } from './index';

const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
// What fetch (undici) throws: the code hides in `cause`.
const fetchRefused = new TypeError('fetch failed', { cause: refused });
const fetchConnectTimeout = new TypeError('fetch failed', {
  cause: Object.assign(new Error('Connect Timeout Error'), { code: 'UND_ERR_CONNECT_TIMEOUT' }),
});
// What AbortSignal.timeout(10_000) makes fetch reject with.
const abortTimeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');

const table: [string, DeliveryAttemptResult, DeliveryClassification][] = [
  ['200', { statusCode: 200 }, { outcome: 'success' }],
  ['204', { statusCode: 204 }, { outcome: 'success' }],
  ['299', { statusCode: 299 }, { outcome: 'success' }],
  ['301', { statusCode: 301 }, { outcome: 'retry', reason: 'HTTP 301 (redirects are not followed)' }],
  ['302', { statusCode: 302 }, { outcome: 'retry', reason: 'HTTP 302 (redirects are not followed)' }],
  ['400', { statusCode: 400 }, { outcome: 'retry', reason: 'HTTP 400' }],
  ['404', { statusCode: 404 }, { outcome: 'retry', reason: 'HTTP 404' }],
  ['408', { statusCode: 408 }, { outcome: 'retry', reason: 'HTTP 408' }],
  ['410', { statusCode: 410 }, { outcome: 'disable', reason: 'HTTP 410 Gone' }],
  ['429', { statusCode: 429 }, { outcome: 'retry', reason: 'HTTP 429' }],
  ['500', { statusCode: 500 }, { outcome: 'retry', reason: 'HTTP 500' }],
  ['503', { statusCode: 503 }, { outcome: 'retry', reason: 'HTTP 503' }],
  ['100', { statusCode: 100 }, { outcome: 'retry', reason: 'HTTP 100' }],
  ['timeout (AbortSignal.timeout)', { error: abortTimeout }, { outcome: 'retry', reason: 'timeout' }],
  ['timeout (undici connect)', { error: fetchConnectTimeout }, { outcome: 'retry', reason: 'timeout' }],
  ['ECONNREFUSED', { error: refused }, { outcome: 'retry', reason: 'connection error: ECONNREFUSED' }],
  ['ECONNREFUSED via fetch', { error: fetchRefused }, { outcome: 'retry', reason: 'connection error: ECONNREFUSED' }],
  ['plain Error', { error: new Error('blocked by SSRF guard') }, { outcome: 'retry', reason: 'network error: blocked by SSRF guard' }],
  ['string error', { error: 'socket hang up' }, { outcome: 'retry', reason: 'socket hang up' }],
  ['nothing at all', {}, { outcome: 'retry', reason: 'no response' }],
  ['status 0', { statusCode: 0 }, { outcome: 'retry', reason: 'invalid HTTP status 0' }],
  ['status 600', { statusCode: 600 }, { outcome: 'retry', reason: 'invalid HTTP status 600' }],
];

describe('classifyResponse', () => {
  it.each(table)('%s', (_label, result, expected) => {
    expect(classifyResponse(result)).toEqual(expected);
  });

  it('lets a received status win over a later error (the subscriber answered)', () => {
    expect(classifyResponse({ statusCode: 204, error: refused })).toEqual({ outcome: 'success' });
    expect(classifyResponse({ statusCode: 410, error: abortTimeout }).outcome).toBe('disable');
  });

  it('keeps reasons short enough to store', () => {
    const result = classifyResponse({ error: new Error('x'.repeat(10_000)) });
    expect(result.outcome).toBe('retry');
    expect(result.outcome === 'retry' && result.reason.length).toBeLessThanOrEqual(300);
  });
});

import { classifyAddress } from './address-policy';
import { OutboundError } from './outbound-error';
import { hostnameOf, parseTargetUrl } from './target-url';

describe('parseTargetUrl', () => {
  // The guard relies on the WHATWG parser (the one undici uses) turning every
  // alternative IPv4 spelling into the dotted quad before any check runs.
  it.each([
    ['http://2130706433/', '127.0.0.1'],
    ['http://0x7f.1/', '127.0.0.1'],
    ['http://0x7f000001/', '127.0.0.1'],
    ['http://017700000001/', '127.0.0.1'],
    ['http://0177.0.0.1/', '127.0.0.1'],
    ['http://127.1/', '127.0.0.1'],
    ['http://%31%32%37.0.0.1/', '127.0.0.1'],
    ['http://①②⑦.0.0.1/', '127.0.0.1'],
    ['http://0xa9.0xfe.0xa9.0xfe/', '169.254.169.254'],
    ['http://2852039166/', '169.254.169.254'],
    ['http://0/', '0.0.0.0'],
    ['http://[::ffff:127.0.0.1]/', '::ffff:7f00:1'],
    ['http://[0:0:0:0:0:0:0:1]/', '::1'],
    ['http://[::127.0.0.1]/', '::7f00:1'],
  ])('normalises %s to %s, which the guard refuses', (input, host) => {
    const url = parseTargetUrl(input);
    expect(hostnameOf(url)).toBe(host);
    expect(classifyAddress(hostnameOf(url)).forbidden).toBe(true);
  });

  it('keeps host names as names (lower-cased) for the resolver', () => {
    expect(hostnameOf(parseTargetUrl('https://Hooks.Example.COM:8443/x?y=1'))).toBe('hooks.example.com');
  });

  it.each(['file:///etc/passwd', 'ftp://example.com/', 'gopher://127.0.0.1:6379/_', 'data:text/plain,hi', 'ws://example.com/'])(
    'refuses the scheme of %s',
    (input) => {
      expect(() => parseTargetUrl(input)).toThrow(expect.objectContaining({ code: 'INVALID_URL' }));
    },
  );

  it('refuses credentials in the URL', () => {
    for (const input of ['http://user:pass@example.com/', 'http://user@example.com/', 'http://:pass@example.com/']) {
      expect(() => parseTargetUrl(input)).toThrow(expect.objectContaining({ code: 'INVALID_URL' }));
    }
  });

  it('refuses unparsable URLs with INVALID_URL and never echoes the URL', () => {
    let caught: unknown;
    try {
      parseTargetUrl('http://exa mple.com/?token=secret');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(OutboundError);
    expect((caught as OutboundError).code).toBe('INVALID_URL');
    expect((caught as OutboundError).message).not.toContain('secret');
  });

  it('resolves relative redirect locations against the current URL', () => {
    const base = new URL('http://example.com/a/b');
    expect(parseTargetUrl('../c', base).href).toBe('http://example.com/c');
    expect(parseTargetUrl('//169.254.169.254/x', base).hostname).toBe('169.254.169.254');
  });
});

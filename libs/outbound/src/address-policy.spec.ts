import { classifyAddress, isForbiddenAddress } from './address-policy';

describe('classifyAddress', () => {
  it.each([
    // address, ipaddr.js range, wording used in SSRF messages
    ['127.0.0.1', 'loopback', 'loopback'],
    ['127.255.0.9', 'loopback', 'loopback'],
    ['10.0.0.1', 'private', 'private (RFC 1918)'],
    ['172.16.5.4', 'private', 'private (RFC 1918)'],
    ['192.168.1.1', 'private', 'private (RFC 1918)'],
    ['169.254.169.254', 'linkLocal', 'link-local'],
    ['100.64.0.1', 'carrierGradeNat', 'carrier-grade NAT (RFC 6598)'],
    ['100.100.100.200', 'carrierGradeNat', 'carrier-grade NAT (RFC 6598)'],
    ['224.0.0.1', 'multicast', 'multicast'],
    ['0.0.0.0', 'unspecified', 'unspecified'],
    ['0.1.2.3', 'unspecified', 'unspecified'],
    ['255.255.255.255', 'broadcast', 'broadcast'],
    ['192.0.2.10', 'reserved', 'reserved'],
    ['198.18.0.1', 'reserved', 'reserved'],
    ['240.0.0.1', 'reserved', 'reserved'],
    ['::1', 'loopback', 'loopback'],
    ['::', 'unspecified', 'unspecified'],
    ['fe80::1', 'linkLocal', 'link-local'],
    ['fc00::1', 'uniqueLocal', 'unique-local (fc00::/7)'],
    ['fd12:3456::1', 'uniqueLocal', 'unique-local (fc00::/7)'],
    ['ff02::1', 'multicast', 'multicast'],
    ['fec0::1', 'deprecatedSiteLocal', 'site-local (fec0::/10)'],
    ['2001:db8::1', 'reserved', 'reserved'],
    ['2002:7f00:1::1', '6to4', '6to4 (RFC 3056)'],
    ['2001::1', 'teredo', 'Teredo (RFC 4380)'],
    ['64:ff9b:1::a9fe:a9fe', 'rfc6052', 'NAT64 local-use (RFC 8215)'],
    ['::7f00:1', 'ipv4Compatible', 'IPv4-compatible (deprecated, RFC 4291)'],
  ])('refuses %s (%s)', (address, range, description) => {
    const verdict = classifyAddress(address);
    expect(verdict).toMatchObject({ range, description, forbidden: true });
    expect(isForbiddenAddress(address)).toBe(true);
  });

  it.each([
    // IPv6 forms that carry an IPv4 destination are judged by that IPv4 address.
    ['::ffff:127.0.0.1', 'ipv4Mapped', '127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'ipv4Mapped', '127.0.0.1', 'loopback'],
    ['::ffff:169.254.169.254', 'ipv4Mapped', '169.254.169.254', 'linkLocal'],
    ['::ffff:10.0.0.1', 'ipv4Mapped', '10.0.0.1', 'private'],
    ['::ffff:0.0.0.0', 'ipv4Mapped', '0.0.0.0', 'unspecified'],
    ['::ffff:0:a9fe:a9fe', 'rfc6145', '169.254.169.254', 'linkLocal'],
    ['64:ff9b::a9fe:a9fe', 'rfc6052', '169.254.169.254', 'linkLocal'],
    ['64:ff9b::7f00:1', 'rfc6052', '127.0.0.1', 'loopback'],
  ])('refuses %s as a %s form of %s', (address, range, v4, v4Range) => {
    const verdict = classifyAddress(address);
    expect(verdict.range).toBe(range);
    expect(verdict.embeddedIPv4).toMatchObject({ address: v4, range: v4Range, forbidden: true });
    expect(verdict.forbidden).toBe(true);
    expect(verdict.description).toContain(v4);
  });

  it.each([
    ['8.8.8.8', 4],
    ['1.1.1.1', 4],
    ['93.184.215.14', 4],
    ['2606:4700:4700::1111', 6],
    ['2a00:1450:4001:82a::200e', 6],
    // Judged by the public IPv4 inside: NAT64/DNS64 networks depend on this.
    ['::ffff:8.8.8.8', 6],
    ['64:ff9b::808:808', 6],
  ])('allows public %s', (address, family) => {
    const verdict = classifyAddress(address);
    expect(verdict).toMatchObject({ family, forbidden: false });
    expect(isForbiddenAddress(address)).toBe(false);
  });

  it('normalises the address text (RFC 5952 for IPv6)', () => {
    expect(classifyAddress('0:0:0:0:0:0:0:1').address).toBe('::1');
    expect(classifyAddress('::ffff:127.0.0.1').address).toBe('::ffff:7f00:1');
    expect(classifyAddress('FE80::1').address).toBe('fe80::1');
  });

  it.each(['example.com', '', '127.1', '0x7f.1', '2130706433', '017700000001', '1.2.3.4.5', '[::1]'])(
    'does not take %j as an IP literal (fail closed)',
    (text) => {
      expect(() => classifyAddress(text)).toThrow(TypeError);
      expect(isForbiddenAddress(text)).toBe(true);
    },
  );
});

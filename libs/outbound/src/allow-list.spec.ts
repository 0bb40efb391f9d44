import { AllowListError, parseAllowList } from './allow-list';

describe('parseAllowList', () => {
  it('is empty for an empty or blank spec', () => {
    for (const spec of ['', '  ', ',', ' , ,']) {
      const list = parseAllowList(spec);
      expect(list.entries).toEqual([]);
      expect(list.allowsAddress('127.0.0.1')).toBe(false);
      expect(list.allowsHost('localhost')).toBe(false);
    }
  });

  it('normalises and lists every entry', () => {
    const list = parseAllowList(' 127.0.0.1, Hooks.Example.COM ,10.0.0.0/8,*.Svc.Cluster.Local, ::1, fd00::/8 ');
    expect(list.entries).toEqual(['127.0.0.1/32', 'hooks.example.com', '10.0.0.0/8', '*.svc.cluster.local', '::1/128', 'fd00::/8']);
  });

  it('matches host names exactly and case-insensitively, ignoring a trailing dot', () => {
    const list = parseAllowList('hooks.example.com');
    expect(list.allowsHost('hooks.example.com')).toBe(true);
    expect(list.allowsHost('HOOKS.example.com')).toBe(true);
    expect(list.allowsHost('hooks.example.com.')).toBe(true);
    expect(list.allowsHost('example.com')).toBe(false);
    expect(list.allowsHost('a.hooks.example.com')).toBe(false);
    expect(list.allowsHost('hooks.example.com.evil.test')).toBe(false);
    expect(list.allowsHost('evilhooks.example.com')).toBe(false);
  });

  it('matches wildcard entries on subdomains of any depth but not the apex', () => {
    const list = parseAllowList('*.svc.local');
    expect(list.allowsHost('api.svc.local')).toBe(true);
    expect(list.allowsHost('a.b.svc.local')).toBe(true);
    expect(list.allowsHost('svc.local')).toBe(false);
    expect(list.allowsHost('evilsvc.local')).toBe(false);
    expect(list.allowsHost('svc.local.evil.test')).toBe(false);
  });

  it('stores internationalised names in their ASCII (punycode) form, as URL hosts are', () => {
    const list = parseAllowList('bücher.example');
    expect(list.entries).toEqual(['xn--bcher-kva.example']);
    expect(list.allowsHost(new URL('http://BÜCHER.example/').hostname)).toBe(true);
  });

  it('matches IPv4 and IPv6 addresses and CIDRs', () => {
    const list = parseAllowList('127.0.0.1,10.0.0.0/8,fd00::/8,::1');
    expect(list.allowsAddress('127.0.0.1')).toBe(true);
    expect(list.allowsAddress('127.0.0.2')).toBe(false);
    expect(list.allowsAddress('10.255.1.2')).toBe(true);
    expect(list.allowsAddress('11.0.0.1')).toBe(false);
    expect(list.allowsAddress('fd12::1')).toBe(true);
    expect(list.allowsAddress('fc00::1')).toBe(false);
    expect(list.allowsAddress('::1')).toBe(true);
    expect(list.allowsAddress('not-an-ip')).toBe(false);
    // An IP-literal URL host is judged by the address entries.
    expect(list.allowsHost('127.0.0.1')).toBe(true);
    expect(list.allowsHost('::1')).toBe(true);
    expect(list.allowsHost('10.0.0.1')).toBe(true);
  });

  it('lets an IPv4 entry cover the IPv4-mapped IPv6 form of that address', () => {
    const list = parseAllowList('127.0.0.1');
    expect(list.allowsAddress('::ffff:127.0.0.1')).toBe(true);
    expect(list.allowsAddress('::ffff:127.0.0.2')).toBe(false);
  });

  it.each([
    ['foo/99', "'foo/99' is not a host or CIDR"],
    ['10.0.0.0/33', "'10.0.0.0/33' is not a host or CIDR (prefix length must be 0-32)"],
    ['::/129', "'::/129' is not a host or CIDR (prefix length must be 0-128)"],
    ['10.0.0.0/', "'10.0.0.0/' is not a host or CIDR (prefix length must be 0-32)"],
    ['10.0.0.0/-1', "'10.0.0.0/-1' is not a host or CIDR (prefix length must be 0-32)"],
    ['10.0.0.0/8/8', "'10.0.0.0/8/8' is not a host or CIDR (prefix length must be 0-32)"],
    ['300.1.1.1', "'300.1.1.1' is not a host or CIDR"],
    ['10.0.0', "'10.0.0' is not a host or CIDR"],
    ['0x7f.1', "'0x7f.1' is not a host or CIDR"],
    ['127.0.0.1:8080', "'127.0.0.1:8080' is not a host or CIDR"],
    ['http://example.com', "'http://example.com' is not a host or CIDR"],
    ['Exa mple.com', "'Exa mple.com' is not a host or CIDR"],
    ['*', "'*' is not a host or CIDR"],
    ['*.', "'*.' is not a host or CIDR"],
    ['a..b', "'a..b' is not a host or CIDR"],
    ['-bad.example', "'-bad.example' is not a host or CIDR"],
    ['foo.*.example', "'foo.*.example' is not a host or CIDR"],
  ])('rejects %j, naming the entry as written', (entry, message) => {
    const attempt = () => parseAllowList(`127.0.0.1, ${entry}, example.com`);
    expect(attempt).toThrow(AllowListError);
    expect(attempt).toThrow(message);
    try {
      attempt();
    } catch (error) {
      expect((error as AllowListError).entry).toBe(entry);
      expect((error as AllowListError).message).toBe(message);
    }
  });
});

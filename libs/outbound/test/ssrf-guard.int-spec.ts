import { OutboundClient, parseAllowList } from '../src';
import { echo, type LoopbackServer, startServer } from './loopback-server';
import { expectOutboundError, tableResolver, watchConnections } from './probes';

// Real node:http servers on loopback, the real undici Agent: these tests prove
// the guard on the exact client the sandbox and notifier use.
describe('OutboundClient SSRF guard (no allow-list)', () => {
  let server: LoopbackServer;
  let client: OutboundClient;
  let connections: ReturnType<typeof watchConnections>;

  beforeAll(async () => {
    server = await startServer(echo);
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => {
    connections = watchConnections();
    client = new OutboundClient({ allow: parseAllowList('') });
  });
  afterEach(async () => {
    connections.stop();
    await client.close();
  });

  it('refuses 127.0.0.1 although a server is listening there', async () => {
    const error = await expectOutboundError(client.request({ url: `${server.origin}/` }), 'SSRF_BLOCKED');
    expect(error.message).toBe('Refused: 127.0.0.1 is loopback (SSRF protection)');
    expect(server.sockets).toHaveLength(0);
    expect(connections.attempts).toEqual([]);
  });

  it('refuses [::1]', async () => {
    const error = await expectOutboundError(client.request({ url: `http://[::1]:${server.port}/` }), 'SSRF_BLOCKED');
    expect(error.message).toBe('Refused: ::1 is loopback (SSRF protection)');
    expect(connections.attempts).toEqual([]);
  });

  it('refuses localhost after resolving it with the system resolver', async () => {
    const error = await expectOutboundError(client.request({ url: `http://localhost:${server.port}/` }), 'SSRF_BLOCKED');
    expect(error.message).toMatch(/^Refused: localhost resolves to (127\.0\.0\.1|::1), which is loopback \(SSRF protection\)$/);
    expect(server.sockets).toHaveLength(0);
    expect(connections.connectedTo).toEqual([]);
  });

  it.each([
    ['http://10.0.0.1/', 'Refused: 10.0.0.1 is private (RFC 1918) (SSRF protection)'],
    ['http://192.168.1.1/', 'Refused: 192.168.1.1 is private (RFC 1918) (SSRF protection)'],
    ['http://100.64.0.1/', 'Refused: 100.64.0.1 is carrier-grade NAT (RFC 6598) (SSRF protection)'],
    ['http://0.0.0.0/', 'Refused: 0.0.0.0 is unspecified (SSRF protection)'],
    ['http://2130706433/', 'Refused: 127.0.0.1 is loopback (SSRF protection)'],
    ['http://0x7f.1/', 'Refused: 127.0.0.1 is loopback (SSRF protection)'],
    ['http://[::ffff:169.254.169.254]/', 'Refused: ::ffff:a9fe:a9fe is IPv4-mapped 169.254.169.254 (link-local) (SSRF protection)'],
    ['http://[fd00::1]/', 'Refused: fd00::1 is unique-local (fc00::/7) (SSRF protection)'],
  ])('refuses %s', async (url, message) => {
    const error = await expectOutboundError(client.request({ url }), 'SSRF_BLOCKED');
    expect(error.message).toBe(message);
    expect(connections.attempts).toEqual([]);
  });

  it('refuses the metadata address 169.254.169.254 at once, before any connect attempt', async () => {
    const started = performance.now();
    const error = await expectOutboundError(
      client.request({ url: 'http://169.254.169.254/latest/meta-data/iam/security-credentials/' }),
      'SSRF_BLOCKED',
    );
    // Without the guard this would sit in connect() until the 10 s timeout.
    expect(performance.now() - started).toBeLessThan(1000);
    expect(error.message).toBe('Refused: 169.254.169.254 is link-local (SSRF protection)');
    expect(connections.attempts).toEqual([]);
  });

  it('refuses a public-looking name that a resolver maps to a private address, without opening a socket', async () => {
    const dns = tableResolver({ 'api.example.com': ['10.1.2.3'] });
    const guarded = new OutboundClient({ allow: parseAllowList(''), resolver: dns.resolver });
    try {
      const error = await expectOutboundError(guarded.request({ url: 'http://api.example.com/' }), 'SSRF_BLOCKED');
      expect(error.message).toBe('Refused: api.example.com resolves to 10.1.2.3, which is private (RFC 1918) (SSRF protection)');
      expect(dns.questions).toEqual(['api.example.com']);
      expect(connections.connectedTo).toEqual([]);
    } finally {
      await guarded.close();
    }
  });

  it('refuses a name when any one of its addresses is forbidden', async () => {
    const dns = tableResolver({ 'mixed.example.com': ['93.184.215.14', '169.254.169.254'] });
    const guarded = new OutboundClient({ allow: parseAllowList(''), resolver: dns.resolver });
    try {
      const error = await expectOutboundError(guarded.request({ url: 'http://mixed.example.com/' }), 'SSRF_BLOCKED');
      expect(error.message).toContain('169.254.169.254, which is link-local');
      expect(connections.connectedTo).toEqual([]);
    } finally {
      await guarded.close();
    }
  });

  it('reports a DNS failure as CONNECTION_FAILED with the cause', async () => {
    const dns = tableResolver({});
    const guarded = new OutboundClient({ allow: parseAllowList(''), resolver: dns.resolver });
    try {
      const error = await expectOutboundError(guarded.request({ url: 'http://nowhere.example.com/' }), 'CONNECTION_FAILED');
      expect(error.message).toBe('Could not resolve nowhere.example.com: ENOTFOUND');
      expect(error.cause).toMatchObject({ code: 'ENOTFOUND' });
    } finally {
      await guarded.close();
    }
  });

  it.each([
    ['ftp://example.com/', 'INVALID_URL'],
    ['file:///etc/passwd', 'INVALID_URL'],
    ['http://user:secret@example.com/', 'INVALID_URL'],
    ['not a url', 'INVALID_URL'],
  ] as const)('refuses %s with %s', async (url, code) => {
    await expectOutboundError(client.request({ url }), code);
  });
});

describe('OutboundClient.assertAllowedUrl', () => {
  const dns = tableResolver({
    'hooks.example.com': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
    'metadata.example.com': ['169.254.169.254'],
    'v6.example.com': ['2606:4700::1', 'fe80::1'],
    'internal.svc.test': ['10.20.30.40'],
  });
  const client = new OutboundClient({ allow: parseAllowList('*.svc.test'), resolver: dns.resolver });
  afterAll(() => client.close());

  it('accepts a URL whose every address is public', async () => {
    await expect(client.assertAllowedUrl('https://hooks.example.com/kiln')).resolves.toBeUndefined();
  });

  it.each([
    ['https://metadata.example.com/', 'Refused: metadata.example.com resolves to 169.254.169.254, which is link-local (SSRF protection)'],
    ['https://v6.example.com/', 'Refused: v6.example.com resolves to fe80::1, which is link-local (SSRF protection)'],
    ['http://169.254.169.254/', 'Refused: 169.254.169.254 is link-local (SSRF protection)'],
    ['http://[::1]/', 'Refused: ::1 is loopback (SSRF protection)'],
  ])('refuses %s', async (url, message) => {
    const error = await expectOutboundError(client.assertAllowedUrl(url), 'SSRF_BLOCKED');
    expect(error.message).toBe(message);
  });

  it('accepts a private target that the allow-list opens by host name', async () => {
    await expect(client.assertAllowedUrl('http://internal.svc.test/hook')).resolves.toBeUndefined();
  });

  it('refuses other schemes and credentials', async () => {
    await expectOutboundError(client.assertAllowedUrl('gopher://hooks.example.com/'), 'INVALID_URL');
    await expectOutboundError(client.assertAllowedUrl('https://u:p@hooks.example.com/'), 'INVALID_URL');
  });

  it('reports an unresolvable name as CONNECTION_FAILED', async () => {
    await expectOutboundError(client.assertAllowedUrl('https://unknown.example.com/'), 'CONNECTION_FAILED');
  });
});

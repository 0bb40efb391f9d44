import { OutboundClient, parseAllowList } from '../src';
import { type LoopbackServer, startServer } from './loopback-server';
import { expectOutboundError, tableResolver, watchConnections } from './probes';

// Stand-ins: 127.0.0.1 (allow-listed) plays the public address that passes the
// check; 127.0.0.2 (loopback, not allow-listed) plays the internal service a
// rebinding DNS server swaps in. Both listen on the same port, so a client that
// looked the name up a second time and connected to that answer would succeed
// against "internal" — and the test would see it.
describe('OutboundClient against DNS rebinding', () => {
  let checked: LoopbackServer;
  let internal: LoopbackServer;
  let connections: ReturnType<typeof watchConnections>;

  beforeAll(async () => {
    checked = await startServer((_request, response) => response.end('checked'));
    internal = await startServer((_request, response) => response.end('internal'), '127.0.0.2', checked.port);
  });
  afterAll(async () => {
    await checked.close();
    await internal.close();
  });
  beforeEach(() => {
    connections = watchConnections();
  });
  afterEach(() => {
    connections.stop();
  });

  /** Answers public first, private on every later question. */
  function rebindingResolver() {
    let asked = 0;
    return tableResolver({
      'rebind.example.com': () => {
        asked += 1;
        return [asked === 1 ? '127.0.0.1' : '127.0.0.2'];
      },
    });
  }

  it('resolves once and connects to exactly the address it checked', async () => {
    const dns = rebindingResolver();
    const client = new OutboundClient({ allow: parseAllowList('127.0.0.1'), resolver: dns.resolver });
    try {
      const response = await client.request({ url: `http://rebind.example.com:${checked.port}/` });
      expect(response.body.toString()).toBe('checked');
      expect(dns.questions).toEqual(['rebind.example.com']);
      expect(connections.connectedTo).toEqual([`127.0.0.1:${checked.port}`]);
      expect(internal.sockets).toHaveLength(0);
    } finally {
      await client.close();
    }
  });

  it('refuses the private answer when the next connection resolves again', async () => {
    const dns = rebindingResolver();
    const first = new OutboundClient({ allow: parseAllowList('127.0.0.1'), resolver: dns.resolver });
    const second = new OutboundClient({ allow: parseAllowList('127.0.0.1'), resolver: dns.resolver });
    try {
      await first.request({ url: `http://rebind.example.com:${checked.port}/` });
      const error = await expectOutboundError(second.request({ url: `http://rebind.example.com:${checked.port}/` }), 'SSRF_BLOCKED');
      expect(error.message).toBe('Refused: rebind.example.com resolves to 127.0.0.2, which is loopback (SSRF protection)');
      expect(connections.connectedTo).toEqual([`127.0.0.1:${checked.port}`]);
      expect(internal.sockets).toHaveLength(0);
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('a subscribe-time check does not vouch for a later request', async () => {
    const dns = rebindingResolver();
    const client = new OutboundClient({ allow: parseAllowList('127.0.0.1'), resolver: dns.resolver });
    try {
      await expect(client.assertAllowedUrl(`http://rebind.example.com:${checked.port}/`)).resolves.toBeUndefined();
      await expectOutboundError(client.request({ url: `http://rebind.example.com:${checked.port}/` }), 'SSRF_BLOCKED');
      expect(internal.sockets).toHaveLength(0);
      expect(connections.connectedTo).toEqual([]);
    } finally {
      await client.close();
    }
  });

  it('falls back only between vetted addresses', async () => {
    // First address refuses connections (nothing listens on 127.0.0.3 at this
    // port); the second is the checked server. Both are allow-listed.
    const dns = tableResolver({ 'multi.example.com': ['127.0.0.3', '127.0.0.1'] });
    const client = new OutboundClient({ allow: parseAllowList('127.0.0.1,127.0.0.3'), resolver: dns.resolver });
    try {
      const response = await client.request({ url: `http://multi.example.com:${checked.port}/` });
      expect(response.body.toString()).toBe('checked');
      expect(dns.questions).toEqual(['multi.example.com']);
    } finally {
      await client.close();
    }
  });
});

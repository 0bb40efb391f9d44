import type { IncomingMessage, ServerResponse } from 'node:http';
import { OutboundClient, parseAllowList } from '../src';
import { echo, type LoopbackServer, startServer } from './loopback-server';
import { expectOutboundError, tableResolver, watchConnections } from './probes';

function redirect(response: ServerResponse, status: number, location: string): void {
  response.statusCode = status;
  response.setHeader('location', location);
  response.end('moved');
}

/**
 * /hop/N redirects to /hop/N+1 (forever, or until N reaches ?end=M);
 * /to?u=URL&s=STATUS redirects to URL; everything else echoes.
 */
function redirector(request: IncomingMessage & { body: string }, response: ServerResponse): void {
  const url = new URL(request.url ?? '/', 'http://placeholder');
  const hop = /^\/hop\/(\d+)$/.exec(url.pathname);
  const end = url.searchParams.get('end');
  if (hop && (end === null || Number(hop[1]) < Number(end))) {
    return redirect(response, 302, `/hop/${Number(hop[1]) + 1}${url.search}`);
  }
  if (url.pathname === '/to') return redirect(response, Number(url.searchParams.get('s') ?? 302), url.searchParams.get('u') ?? '/');
  echo(request, response);
}

describe('OutboundClient redirects', () => {
  let server: LoopbackServer;
  let other: LoopbackServer;
  let client: OutboundClient;
  const to = (target: string, status = 302) => `${server.origin}/to?s=${status}&u=${encodeURIComponent(target)}`;

  beforeAll(async () => {
    server = await startServer(redirector);
    other = await startServer(echo);
    client = new OutboundClient({ allow: parseAllowList('127.0.0.1'), maxRedirects: 3 });
  });
  afterAll(async () => {
    await client.close();
    await server.close();
    await other.close();
  });

  it('follows a relative redirect and reports the final URL', async () => {
    const response = await client.request({ url: to('/final?x=1') });
    expect(response).toMatchObject({ status: 200, redirected: true, url: `${server.origin}/final?x=1` });
  });

  it('follows exactly maxRedirects hops', async () => {
    const response = await client.request({ url: `${server.origin}/hop/0?end=3` });
    expect(response).toMatchObject({ status: 200, redirected: true, url: `${server.origin}/hop/3?end=3` });
  });

  it('refuses a redirect chain longer than maxRedirects', async () => {
    const before = server.requests.length;
    const error = await expectOutboundError(client.request({ url: `${server.origin}/hop/0` }), 'TOO_MANY_REDIRECTS');
    expect(error.message).toBe('More than 3 redirects');
    // The first request plus three followed hops; the fourth Location is never requested.
    expect(server.requests.slice(before).map((request) => request.url)).toEqual(['/hop/0', '/hop/1', '/hop/2', '/hop/3']);
  });

  it('re-checks every hop: allowed host to a private address is refused', async () => {
    const connections = watchConnections();
    try {
      const error = await expectOutboundError(client.request({ url: to('http://10.0.0.1/admin') }), 'SSRF_BLOCKED');
      expect(error.message).toBe('Refused: 10.0.0.1 is private (RFC 1918) (SSRF protection)');
      expect(connections.attempts.some((attempt) => attempt.startsWith('10.0.0.1'))).toBe(false);
    } finally {
      connections.stop();
    }
  });

  it('re-checks every hop: a redirect to the metadata address is refused', async () => {
    await expectOutboundError(client.request({ url: to('http://169.254.169.254/latest/meta-data/', 307) }), 'SSRF_BLOCKED');
  });

  it('re-checks every hop: a redirect to a loopback address outside the allow-list never reaches it', async () => {
    const internal = await startServer(echo, '127.0.0.2');
    try {
      await expectOutboundError(client.request({ url: to(`${internal.origin}/secret`) }), 'SSRF_BLOCKED');
      expect(internal.sockets).toHaveLength(0);
    } finally {
      await internal.close();
    }
  });

  it('re-checks every hop: a redirect to a name that resolves privately is refused', async () => {
    const internal = await startServer(echo, '127.0.0.2');
    const dns = tableResolver({ 'innocent.example.com': ['127.0.0.2'] });
    const guarded = new OutboundClient({ allow: parseAllowList('127.0.0.1'), resolver: dns.resolver });
    try {
      const error = await expectOutboundError(
        guarded.request({ url: to(`http://innocent.example.com:${internal.port}/`) }),
        'SSRF_BLOCKED',
      );
      expect(error.message).toBe('Refused: innocent.example.com resolves to 127.0.0.2, which is loopback (SSRF protection)');
      expect(dns.questions).toEqual(['innocent.example.com']);
      expect(internal.sockets).toHaveLength(0);
    } finally {
      await guarded.close();
      await internal.close();
    }
  });

  it.each(['file:///etc/passwd', 'gopher://127.0.0.1:6379/_INFO', 'http://user:pw@127.0.0.1/'])(
    'refuses a redirect to %s',
    async (target) => {
      await expectOutboundError(client.request({ url: to(target) }), 'INVALID_URL');
    },
  );

  it('turns POST into GET on 303 and drops the body', async () => {
    const response = await client.request({
      url: to('/after', 303),
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'payload',
    });
    const echoed = JSON.parse(response.body.toString()) as { method: string; body: string; headers: Record<string, string> };
    expect(echoed).toMatchObject({ method: 'GET', body: '' });
    expect(echoed.headers['content-type']).toBeUndefined();
  });

  it('replays method and body on 307', async () => {
    const response = await client.request({ url: to('/after', 307), method: 'PUT', body: 'payload' });
    expect(JSON.parse(response.body.toString())).toMatchObject({ method: 'PUT', body: 'payload' });
  });

  it('keeps Authorization on the same origin and drops it across origins', async () => {
    const same = await client.request({ url: to('/after'), headers: { authorization: 'Bearer same' } });
    expect(JSON.parse(same.body.toString())).toMatchObject({ headers: { authorization: 'Bearer same' } });
    const cross = await client.request({ url: to(`${other.origin}/after`), headers: { authorization: 'Bearer cross' } });
    expect(cross.url).toBe(`${other.origin}/after`);
    expect((JSON.parse(cross.body.toString()) as { headers: Record<string, string> }).headers.authorization).toBeUndefined();
  });

  it("returns the redirect itself in 'manual' mode", async () => {
    const response = await client.request({ url: to('http://10.0.0.1/'), redirect: 'manual' });
    expect(response).toMatchObject({ status: 302, redirected: false, headers: { location: 'http://10.0.0.1/' } });
    expect(response.body.toString()).toBe('moved');
  });

  it("refuses to follow in 'error' mode", async () => {
    await expectOutboundError(client.request({ url: to('/after'), redirect: 'error' }), 'REDIRECT_REFUSED');
  });

  it('returns a 3xx without Location as a plain response', async () => {
    const bare = await startServer((_request, response) => {
      response.statusCode = 302;
      response.end();
    });
    try {
      const response = await client.request({ url: `${bare.origin}/` });
      expect(response).toMatchObject({ status: 302, redirected: false });
    } finally {
      await bare.close();
    }
  });
});

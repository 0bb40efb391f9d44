import { once } from 'node:events';
import type { Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { OutboundClient, parseAllowList } from '../src';
import { echo, type LoopbackServer, startServer } from './loopback-server';
import { expectOutboundError, tableResolver } from './probes';

interface Echoed {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

function parseEcho(body: Buffer): Echoed {
  return JSON.parse(body.toString('utf8')) as Echoed;
}

describe('OutboundClient with 127.0.0.1 allow-listed', () => {
  let server: LoopbackServer;
  let client: OutboundClient;

  beforeAll(async () => {
    server = await startServer(echo);
    client = new OutboundClient({ allow: parseAllowList('127.0.0.1'), userAgent: 'Kiln-Test/1.0' });
  });
  afterAll(async () => {
    await client.close();
    await server.close();
  });

  it('GETs with headers and returns status, headers, body and final URL', async () => {
    const response = await client.request({ url: `${server.origin}/things?id=7#frag`, headers: { 'X-Trace': 'abc' } });
    expect(response).toMatchObject({ status: 200, statusText: 'OK', url: `${server.origin}/things?id=7`, redirected: false });
    expect(response.headers).toMatchObject({ 'content-type': 'application/json', 'x-reply': 'yes' });
    const echoed = parseEcho(response.body);
    expect(echoed).toMatchObject({ method: 'GET', url: '/things?id=7', body: '' });
    expect(echoed.headers).toMatchObject({ 'x-trace': 'abc', 'user-agent': 'Kiln-Test/1.0', host: `127.0.0.1:${server.port}` });
  });

  it('POSTs a body and lets the caller override the User-Agent', async () => {
    const payload = JSON.stringify({ hello: 'world', n: 1 });
    const response = await client.request({
      url: `${server.origin}/submit`,
      method: 'post',
      headers: { 'content-type': 'application/json', 'user-agent': 'Kiln-Webhooks/1.0' },
      body: payload,
    });
    expect(response.status).toBe(200);
    const echoed = parseEcho(response.body);
    expect(echoed).toMatchObject({ method: 'POST', body: payload });
    expect(echoed.headers).toMatchObject({
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(payload)),
      'user-agent': 'Kiln-Webhooks/1.0',
    });
  });

  it('sends binary bodies untouched and returns binary bodies as Buffers', async () => {
    const bytes = Buffer.from([0, 1, 2, 253, 254, 255]);
    const binary = await startServer((_request, response) => response.end(Buffer.from([255, 0, 128])));
    try {
      const response = await client.request({ url: `${binary.origin}/`, method: 'PUT', body: new Uint8Array(bytes) });
      expect(binary.requests[0]?.rawBody).toEqual(bytes);
      expect(Buffer.isBuffer(response.body)).toBe(true);
      expect(response.body).toEqual(Buffer.from([255, 0, 128]));
    } finally {
      await binary.close();
    }
  });

  it('passes non-2xx responses through as responses, not errors', async () => {
    const failing = await startServer((_request, response) => {
      response.statusCode = 503;
      response.statusMessage = 'Busy';
      response.end('try later');
    });
    try {
      const response = await client.request({ url: `${failing.origin}/` });
      expect(response).toMatchObject({ status: 503, statusText: 'Busy' });
      expect(response.body.toString()).toBe('try later');
    } finally {
      await failing.close();
    }
  });

  it('joins repeated response headers', async () => {
    const cookies = await startServer((_request, response) => {
      response.setHeader('set-cookie', ['a=1', 'b=2']);
      response.end();
    });
    try {
      const response = await client.request({ url: `${cookies.origin}/` });
      expect(response.headers['set-cookie']).toBe('a=1, b=2');
    } finally {
      await cookies.close();
    }
  });

  it('does not forward Host or framing headers set by the caller', async () => {
    const response = await client.request({
      url: `${server.origin}/`,
      method: 'POST',
      headers: { Host: 'metadata.google.internal', 'Transfer-Encoding': 'chunked', Connection: 'upgrade', 'Content-Length': '1' },
      body: 'abc',
    });
    const echoed = parseEcho(response.body);
    expect(echoed.headers.host).toBe(`127.0.0.1:${server.port}`);
    expect(echoed.headers['content-length']).toBe('3');
    expect(echoed.headers['transfer-encoding']).toBeUndefined();
    expect(echoed.body).toBe('abc');
  });

  it.each([
    [{ method: 'CONNECT' }, 'INVALID_REQUEST'],
    [{ method: 'TRACE' }, 'INVALID_REQUEST'],
    [{ method: 'GE T' }, 'INVALID_REQUEST'],
    [{ method: 'GET', body: 'x' }, 'INVALID_REQUEST'],
    [{ headers: { 'x-bad': 'a\r\nInjected: 1' } }, 'INVALID_REQUEST'],
    [{ timeoutMs: 0 }, 'INVALID_REQUEST'],
    [{ timeoutMs: 2 ** 31 }, 'INVALID_REQUEST'],
  ] as const)('refuses a malformed request %j', async (shape, code) => {
    await expectOutboundError(client.request({ url: `${server.origin}/`, ...shape }), code);
  });

  it('still refuses loopback addresses the allow-list does not name', async () => {
    await expectOutboundError(client.request({ url: `http://127.0.0.2:${server.port}/` }), 'SSRF_BLOCKED');
    await expectOutboundError(client.request({ url: `http://[::1]:${server.port}/` }), 'SSRF_BLOCKED');
  });

  it('reports connection refused as CONNECTION_FAILED with the cause', async () => {
    const closed = await startServer(echo);
    const { origin } = closed;
    await closed.close();
    const error = await expectOutboundError(client.request({ url: `${origin}/` }), 'CONNECTION_FAILED');
    expect(error.cause).toMatchObject({ code: 'ECONNREFUSED' });
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('reports a reset connection as CONNECTION_FAILED', async () => {
    const rude = await startServer(echo);
    rude.server.removeAllListeners('request');
    rude.server.on('request', (request: { socket: Socket }) => request.socket.destroy());
    try {
      await expectOutboundError(client.request({ url: `${rude.origin}/` }), 'CONNECTION_FAILED');
    } finally {
      await rude.close();
    }
  });
});

describe('OutboundClient allow-list by host name', () => {
  it('opens a name (and only that name) whatever private address it resolves to', async () => {
    const server = await startServer(echo);
    const dns = tableResolver({ 'hooks.internal.test': ['127.0.0.1'], 'other.internal.test': ['127.0.0.1'] });
    const client = new OutboundClient({ allow: parseAllowList('hooks.internal.test'), resolver: dns.resolver });
    try {
      const response = await client.request({ url: `http://hooks.internal.test:${server.port}/x` });
      expect(response.status).toBe(200);
      expect(parseEcho(response.body).headers.host).toBe(`hooks.internal.test:${server.port}`);
      await expectOutboundError(client.request({ url: `http://other.internal.test:${server.port}/x` }), 'SSRF_BLOCKED');
      expect(server.requests).toHaveLength(1);
    } finally {
      await client.close();
      await server.close();
    }
  });
});

describe('OutboundClient over TLS with a pinned address', () => {
  it('connects to the vetted address but sends the host name as SNI (certificate identity)', async () => {
    // No certificate: the handshake is refused after the ClientHello, which is
    // all this test needs to see (the SNI name and where the socket landed).
    const sniNames: string[] = [];
    const tls = createTlsServer({
      SNICallback: (name, callback) => {
        sniNames.push(name);
        callback(new Error('no certificate in this test'), undefined);
      },
    });
    const remoteEnds: string[] = [];
    tls.on('connection', (socket: Socket) => remoteEnds.push(`${socket.localAddress}`));
    tls.listen(0, '127.0.0.1');
    await once(tls, 'listening');
    const { port } = tls.address() as { port: number };
    const dns = tableResolver({ 'secure.example.test': ['127.0.0.1'] });
    const client = new OutboundClient({ allow: parseAllowList('127.0.0.1'), resolver: dns.resolver });
    try {
      await expectOutboundError(client.request({ url: `https://secure.example.test:${port}/` }), 'CONNECTION_FAILED');
      expect(sniNames).toEqual(['secure.example.test']);
      expect(remoteEnds).toEqual(['127.0.0.1']);
      expect(dns.questions).toEqual(['secure.example.test']);
    } finally {
      await client.close();
      tls.close();
    }
  });
});

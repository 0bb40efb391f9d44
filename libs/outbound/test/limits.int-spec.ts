import type { ServerResponse } from 'node:http';
import { OutboundClient, parseAllowList } from '../src';
import { type LoopbackServer, startServer } from './loopback-server';
import { expectOutboundError } from './probes';

const CAP = 64 * 1024;

/** Writes 16 KiB chunks, honouring back-pressure, until the client goes away. */
function streamForever(response: ServerResponse): void {
  const chunk = Buffer.alloc(16 * 1024, 0x61);
  const pump = (): void => {
    while (!response.destroyed && response.write(chunk));
    if (!response.destroyed) response.once('drain', pump);
  };
  pump();
}

describe('OutboundClient limits', () => {
  let client: OutboundClient;
  const servers: LoopbackServer[] = [];
  const serve = async (handler: Parameters<typeof startServer>[0]) => {
    const server = await startServer(handler);
    servers.push(server);
    return server;
  };

  beforeAll(() => {
    client = new OutboundClient({ allow: parseAllowList('127.0.0.1'), maxResponseBytes: CAP, defaultTimeoutMs: 5000 });
  });
  afterAll(async () => {
    await client.close();
    await Promise.all(servers.map((server) => server.close()));
  });

  it('accepts a body of exactly maxResponseBytes', async () => {
    const server = await serve((_request, response) => response.end(Buffer.alloc(CAP, 0x62)));
    const response = await client.request({ url: `${server.origin}/` });
    expect(response.body.length).toBe(CAP);
  });

  it('aborts an endless chunked body past the cap and closes the connection', async () => {
    const server = await serve((_request, response) => streamForever(response));
    const error = await expectOutboundError(client.request({ url: `${server.origin}/` }), 'RESPONSE_TOO_LARGE');
    expect(error.message).toContain(String(CAP));
    // The client hangs up (a reset, typically) instead of draining the rest.
    const [socket] = server.sockets;
    expect(socket).toBeDefined();
    if (!socket!.destroyed) await new Promise((resolve) => socket!.on('error', () => undefined).once('close', resolve));
    expect(socket!.destroyed).toBe(true);
  });

  it('refuses a declared Content-Length over the cap before reading the body', async () => {
    const server = await serve((_request, response) => {
      response.setHeader('content-length', String(CAP * 100));
      response.write(Buffer.alloc(1024));
      // The rest never comes: the client must decide on the header alone.
    });
    const started = performance.now();
    await expectOutboundError(client.request({ url: `${server.origin}/`, timeoutMs: 4000 }), 'RESPONSE_TOO_LARGE');
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('times out a server that never answers, close to timeoutMs', async () => {
    const server = await serve(() => undefined);
    const started = performance.now();
    const error = await expectOutboundError(client.request({ url: `${server.origin}/`, timeoutMs: 300 }), 'TIMEOUT');
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(1500);
    expect(error.message).toBe('Request timed out after 300 ms');
  });

  it('times out a body that keeps trickling: the deadline is total, not idle', async () => {
    const server = await serve((_request, response) => {
      response.write('x');
      const timer = setInterval(() => response.write('x'), 20);
      response.on('close', () => clearInterval(timer));
    });
    const started = performance.now();
    await expectOutboundError(client.request({ url: `${server.origin}/`, timeoutMs: 400 }), 'TIMEOUT');
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(390);
    expect(elapsed).toBeLessThan(1500);
  });

  it('uses defaultTimeoutMs when the request sets none', async () => {
    const quick = new OutboundClient({ allow: parseAllowList('127.0.0.1'), defaultTimeoutMs: 250 });
    const server = await serve(() => undefined);
    try {
      const started = performance.now();
      await expectOutboundError(quick.request({ url: `${server.origin}/` }), 'TIMEOUT');
      expect(performance.now() - started).toBeLessThan(1500);
    } finally {
      await quick.close();
    }
  });

  it('rejects nonsensical limits at construction', () => {
    const allow = parseAllowList('');
    expect(() => new OutboundClient({ allow, defaultTimeoutMs: 0 })).toThrow(RangeError);
    expect(() => new OutboundClient({ allow, defaultTimeoutMs: 2 ** 31 })).toThrow(RangeError);
    expect(() => new OutboundClient({ allow, maxResponseBytes: -1 })).toThrow(RangeError);
    expect(() => new OutboundClient({ allow, maxRedirects: 1.5 })).toThrow(RangeError);
  });
});

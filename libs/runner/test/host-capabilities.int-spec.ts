import { once } from 'node:events';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig, type KilnConfig } from '@kiln/config';
import type { ClaimedExecution } from '@kiln/db';
import { createLogger, createMetricsRegistry } from '@kiln/observability';
import { createRedis, ExecutionQueue, JobName } from '@kiln/queue';
import { createTestRedisPrefix } from '@kiln/testing';
import type { Redis } from 'ioredis';
import { EventPublisher } from '../src/event-publisher';
import { HostCapabilities, type HostCall } from '../src/host-capabilities';
import { ScriptCacheStore } from '../src/script-cache-store';
import { ScriptOutbound } from '../src/script-outbound';

// The worker's host capabilities against real Redis, a real BullMQ queue and
// real loopback HTTP servers, through the same OutboundClient the worker uses.

interface Loopback {
  origin: string;
  port: number;
  hits: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[];
  server: Server;
}

async function serve(host: string, handler: (req: IncomingMessage, body: string, res: ServerResponse) => void): Promise<Loopback> {
  const hits: Loopback['hits'] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      hits.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, body, res);
    });
  });
  server.listen(0, host);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return { origin: `http://${host}:${port}`, port, hits, server };
}

// Only identity fields matter to host capabilities; the cast keeps the fixture
// independent of columns other features add to the claim.
function execution(overrides: Partial<ClaimedExecution> = {}): ClaimedExecution {
  const base = {
    id: randomUUID(),
    tenantId: randomUUID(),
    scriptId: randomUUID(),
    scriptVersion: 1,
    apiKeyId: null,
    trigger: { type: 'api' as const },
    input: null,
    metadata: null,
    adhocSource: null,
    source: '',
    envEnc: null,
    timeoutMs: 30_000,
    memoryMb: 64,
    attempts: 1,
    approval: null,
    approvalStatus: null,
    approvalComment: null,
    chainDepth: 0,
    createdAt: new Date(),
    startedAt: new Date(),
    queueWaitMs: 0,
  };
  return { ...base, ...overrides } as unknown as ClaimedExecution;
}

describe('host capabilities (worker side of fetch, sdk.http, sdk.cache, events)', () => {
  let redisPrefix: ReturnType<typeof createTestRedisPrefix>;
  let redis: Redis;
  let queue: ExecutionQueue;
  let config: KilnConfig;
  let outbound: ScriptOutbound;
  let host: HostCapabilities;
  let allowed: Loopback;
  let forbidden: Loopback;

  beforeAll(async () => {
    redisPrefix = createTestRedisPrefix();
    // 127.0.0.2 stands for "an allowed host"; 127.0.0.1 stays refused.
    allowed = await serve('127.0.0.2', (req, body, res) => {
      if (req.url?.startsWith('/redirect')) {
        res.writeHead(302, { location: `http://127.0.0.1:${forbidden.port}/secret` }).end();
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ method: req.method, url: req.url, body, contentType: req.headers['content-type'] ?? null }));
    });
    forbidden = await serve('127.0.0.1', (_req, _body, res) => res.end('internal'));
    config = loadConfig({
      REDIS_URL: redisPrefix.url,
      KILN_REDIS_PREFIX: redisPrefix.prefix,
      KILN_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      KILN_OUTBOUND_ALLOW: '127.0.0.2',
      KILN_SDK_HTTP_PER_MINUTE: '3',
      KILN_EVENT_MAX_DEPTH: '2',
      KILN_SDK_CACHE_MAX_VALUE_BYTES: '1024',
    });
    redis = createRedis(config.redis.url, 'producer', 'host-capabilities-test');
    queue = new ExecutionQueue({ connection: redis, prefix: config.redis.prefix, attempts: 1 });
    const logger = createLogger({ name: 'test', level: 'silent' });
    outbound = new ScriptOutbound(config, logger, createMetricsRegistry('test'));
    host = new HostCapabilities(logger, outbound, new ScriptCacheStore(config, redis), new EventPublisher(config, queue));
  });

  afterAll(async () => {
    await outbound?.onApplicationShutdown();
    await queue?.close();
    redis?.disconnect();
    allowed?.server.close();
    forbidden?.server.close();
    await redisPrefix?.cleanup();
  });

  const failure = async (call: Promise<unknown>): Promise<string> => {
    try {
      await call;
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error('expected the host call to be refused');
  };

  it('fetches from an allowed host and answers in the shape the runtime expects', async () => {
    const call = host.forExecution(execution());
    const reply = await call('fetch', [`${allowed.origin}/hello?x=1`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' }]);
    expect(reply).toMatchObject({
      status: 200,
      statusText: 'OK',
      url: `${allowed.origin}/hello?x=1`,
      redirected: false,
      headers: expect.objectContaining({ 'content-type': 'application/json' }),
    });
    expect(JSON.parse((reply as { body: string }).body)).toEqual({ method: 'POST', url: '/hello?x=1', body: 'hi', contentType: 'text/plain' });
  });

  it('sends sdk.http bodies as JSON with the query merged into the URL', async () => {
    const call = host.forExecution(execution());
    const reply = (await call('http.request', [{ method: 'PUT', url: `${allowed.origin}/items?a=1`, body: { n: 1 }, query: { b: 2, c: ['x', 'y'] } }])) as { body: string };
    expect(JSON.parse(reply.body)).toEqual({ method: 'PUT', url: '/items?a=1&b=2&c=x&c=y', body: '{"n":1}', contentType: 'application/json' });
  });

  it.each([
    ['loopback without the allow-list', () => `http://127.0.0.1:${forbidden.port}/`, /SSRF_BLOCKED.*127\.0\.0\.1 is loopback/],
    ['cloud metadata', () => 'http://169.254.169.254/latest/meta-data/', /SSRF_BLOCKED.*169\.254\.169\.254 is link-local/],
    ['RFC 1918', () => 'http://10.0.0.1/', /SSRF_BLOCKED.*private/],
    ['IPv6 loopback', () => `http://[::1]:${forbidden.port}/`, /SSRF_BLOCKED.*loopback/],
    ['a name that resolves to loopback', () => `http://localhost:${forbidden.port}/`, /SSRF_BLOCKED.*localhost resolves to 127\.0\.0\.1/],
    ['a redirect from an allowed host to loopback', () => `${allowed.origin}/redirect`, /SSRF_BLOCKED.*127\.0\.0\.1 is loopback/],
  ])('refuses %s, and nothing reaches the target', async (_name, url, message) => {
    const before = forbidden.hits.length;
    const call = host.forExecution(execution());
    expect(await failure(call('fetch', [url(), { method: 'GET', headers: {} }]))).toMatch(message);
    expect(await failure(call('http.request', [{ method: 'GET', url: url() }]))).toMatch(message);
    expect(forbidden.hits.length).toBe(before);
  });

  it('rate-limits sdk.http per execution (not fetch), with a clear message', async () => {
    const call = host.forExecution(execution());
    for (let i = 0; i < 3; i++) await call('http.request', [{ method: 'GET', url: `${allowed.origin}/n${i}` }]);
    expect(await failure(call('http.request', [{ method: 'GET', url: `${allowed.origin}/n3` }]))).toMatch(
      /sdk\.http rate limit: at most 3 requests per minute per execution \(KILN_SDK_HTTP_PER_MINUTE\)/,
    );
    await expect(call('fetch', [`${allowed.origin}/still-fine`, { method: 'GET', headers: {} }])).resolves.toMatchObject({ status: 200 });
    // Another execution has its own window.
    await expect(host.forExecution(execution())('http.request', [{ method: 'GET', url: `${allowed.origin}/other` }])).resolves.toMatchObject({ status: 200 });
  });

  it('keeps sdk.cache under tenant:{tenantId}:script:{scriptId}: and apart per tenant and script', async () => {
    const a = execution();
    const sameScriptOtherRun = execution({ tenantId: a.tenantId, scriptId: a.scriptId });
    const otherScript = execution({ tenantId: a.tenantId });
    const otherTenant = execution({ scriptId: a.scriptId });
    const call = host.forExecution(a);
    expect(await call('cache.set', ['k', { v: 1 }])).toBe(true);
    expect(await redis.get(`${config.redis.prefix}:tenant:${a.tenantId}:script:${a.scriptId}:k`)).toBe('{"v":1}');
    expect(await host.forExecution(sameScriptOtherRun)('cache.get', ['k'])).toEqual({ v: 1 });
    expect(await host.forExecution(otherScript)('cache.get', ['k'])).toBeNull();
    expect(await host.forExecution(otherTenant)('cache.get', ['k'])).toBeNull();
    expect(await call('cache.exists', ['k'])).toBe(true);
    expect(await call('cache.delete', ['k'])).toBe(true);
    expect(await call('cache.delete', ['k'])).toBe(false);
    expect(await call('cache.exists', ['k'])).toBe(false);
  });

  it('increments numbers, sets TTLs in seconds and refuses what it cannot store', async () => {
    const e = execution();
    const call = host.forExecution(e);
    expect(await call('cache.increment', ['hits', 1])).toBe(1);
    expect(await call('cache.increment', ['hits', 5])).toBe(6);
    expect(await call('cache.increment', ['hits', 0.5])).toBe(6.5);
    expect(await call('cache.increment', ['hits', 1])).toBe(7.5);
    expect(await call('cache.get', ['hits'])).toBe(7.5);
    await call('cache.set', ['word', 'abc']);
    expect(await failure(call('cache.increment', ['word', 1]))).toBe("cache.increment: the value at 'word' is not a number");
    await call('cache.set', ['short', 1, 30]);
    const ttl = await redis.pttl(`${config.redis.prefix}:tenant:${e.tenantId}:script:${e.scriptId}:short`);
    expect(ttl).toBeGreaterThan(25_000);
    expect(ttl).toBeLessThanOrEqual(30_000);
    expect(await failure(call('cache.set', ['bad-ttl', 1, -5]))).toMatch(/ttl must be a positive number of seconds/);
    expect(await failure(call('cache.set', ['big', 'x'.repeat(2000)]))).toMatch(/over 1024 bytes as JSON \(KILN_SDK_CACHE_MAX_VALUE_BYTES\)/);
    expect(await failure(call('cache.get', ['']))).toMatch(/key must be a string of 1-512 characters/);
  });

  it('publishes events one level deeper, and refuses past KILN_EVENT_MAX_DEPTH', async () => {
    const e = execution({ chainDepth: 1, apiKeyId: randomUUID() });
    expect(await host.forExecution(e)('events.publish', ['order.created', { id: 7 }])).toEqual({ published: true, type: 'order.created', depth: 2 });
    const jobs = await queue.queue.getJobs(['waiting', 'delayed', 'prioritized']);
    const job = jobs.find((j) => j.name === JobName.EventDispatch && (j.data as { sourceExecutionId: string }).sourceExecutionId === e.id);
    expect(job?.data).toMatchObject({ tenantId: e.tenantId, type: 'order.created', payload: { id: 7 }, depth: 2, apiKeyId: e.apiKeyId, eventId: expect.any(String) });
    expect(await failure(host.forExecution(execution({ chainDepth: 2 }))('events.publish', ['loop', null]))).toMatch(
      /event chain would be 3 levels deep, over the limit of 2 \(KILN_EVENT_MAX_DEPTH\)/,
    );
    expect(await failure(host.forExecution(e)('events.publish', ['bad type!', null]))).toMatch(/the type must be/);
  });

  it('refuses unknown operations and malformed arguments without host details', async () => {
    const call: HostCall = host.forExecution(execution());
    expect(await failure(call('process.exit', []))).toBe('process.exit is not available in this sandbox');
    expect(await failure(call('fetch', [{ not: 'a url' }]))).toBe('fetch: malformed request');
    expect(await failure(call('http.request', ['x']))).toBe('sdk.http: malformed request');
    expect(await failure(call('fetch', ['file:///etc/passwd', { method: 'GET', headers: {} }]))).toMatch(/INVALID_URL/);
  });
});

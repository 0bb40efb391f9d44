import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SecretBox, uuidv7 } from '@kiln/core';
import { ApiKeyRepository, Database, ExecutionRepository, TenantRepository, WebhookDeliveryRepository } from '@kiln/db';
import { createLogger } from '@kiln/observability';
import { OutboundClient, OutboundError, parseAllowList } from '@kiln/outbound';
import { WebhookQueue } from '@kiln/queue';
import { createTestDatabase, createTestRedisPrefix, type TestDatabase } from '@kiln/testing';
import { generateWebhookSecret, verifyStandard } from '@kiln/webhooks';
import { Redis } from 'ioredis';
import { BreakerOpenError, HostBreakers, HostFailure, WebhookDeliveryService, WebhookRelay } from '../src';

// The outbox (written by ExecutionRepository's status changes), one attempt
// of the delivery service, and the relay, against real PostgreSQL, Redis and
// a loopback receiver.

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

describe('webhook outbox, delivery service and relay', () => {
  let database: TestDatabase;
  let db: Database;
  let redisInfo: ReturnType<typeof createTestRedisPrefix>;
  let redis: Redis;
  let queue: WebhookQueue;
  let executions: ExecutionRepository;
  let deliveries: WebhookDeliveryRepository;
  let client: OutboundClient;
  let breakers: HostBreakers;
  let server: Server;
  let port: number;
  let status = 200;
  let answerBody = 'answer';
  let delayMs = 0;
  // Answer nothing until this many requests have arrived, then all of them at once.
  let answerTogether = 0;
  const unanswered: (() => void)[] = [];
  const received: Received[] = [];
  const box = new SecretBox(Buffer.alloc(32, 9));
  const logger = createLogger({ name: 'test', level: 'silent' });

  beforeAll(async () => {
    database = await createTestDatabase();
    db = new Database({ url: database.url, poolSize: 4 });
    redisInfo = createTestRedisPrefix();
    redis = new Redis(redisInfo.url, { maxRetriesPerRequest: null });
    queue = new WebhookQueue({ connection: redis, prefix: redisInfo.prefix });
    executions = new ExecutionRepository(db);
    deliveries = new WebhookDeliveryRepository(db);
    client = new OutboundClient({ allow: parseAllowList('127.0.0.1'), defaultTimeoutMs: 2000 });
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        unanswered.push(() => setTimeout(() => res.writeHead(status).end(answerBody), delayMs));
        if (received.length >= answerTogether) for (const answer of unanswered.splice(0)) answer();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    await client?.close();
    await queue?.close();
    redis?.disconnect();
    await db?.close();
    await database?.drop();
    await redisInfo?.cleanup();
  });
  beforeEach(async () => {
    status = 200;
    answerBody = 'answer';
    delayMs = 0;
    answerTogether = 0;
    received.length = 0;
    breakers = new HostBreakers({ resetTimeoutMs: 60_000, volumeThreshold: 100, errorThresholdPercentage: 50, rollingWindowMs: 10_000, idleEvictMs: 60_000 }, (e) => e instanceof HostFailure || e instanceof OutboundError);
    await queue.queue.obliterate({ force: true });
  });
  afterEach(() => breakers?.close());

  const hookUrl = () => `http://127.0.0.1:${port}/hook`;

  async function tenant(): Promise<{ id: string; secret: string }> {
    const secret = generateWebhookSecret();
    const t = await new TenantRepository(db).create({ name: 't', slug: `t-${randomUUID().slice(0, 8)}`, webhookSecretEnc: box.seal(secret) });
    return { id: t.id, secret };
  }

  async function script(tenantId: string): Promise<string> {
    const id = randomUUID();
    await db.pool.query(`INSERT INTO scripts (id, tenant_id, name, updated_at) VALUES ($1, $2, $3, now())`, [id, tenantId, `s-${id.slice(0, 8)}`]);
    return id;
  }

  async function subscription(tenantId: string, options: { events?: string[]; scriptId?: string | null; active?: boolean; url?: string } = {}) {
    const secret = generateWebhookSecret();
    const { rows } = await db.pool.query<{ id: string }>(
      `INSERT INTO webhook_subscriptions (id, tenant_id, url, events, secret_enc, script_id, active, updated_at)
       VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $6, now()) RETURNING id::text`,
      [tenantId, options.url ?? hookUrl(), options.events ?? ['execution.started', 'execution.completed', 'execution.failed', 'execution.cancelled', 'execution.pending_approval'], box.seal(secret), options.scriptId ?? null, options.active ?? true],
    );
    return { id: rows[0]!.id, secret };
  }

  async function execution(tenantId: string, extra: { scriptId?: string | null; apiKeyId?: string | null; webhookUrl?: string | null } = {}): Promise<string> {
    const id = uuidv7();
    await executions.create({
      id,
      tenantId,
      scriptId: extra.scriptId ?? null,
      scriptVersion: extra.scriptId ? 1 : null,
      apiKeyId: extra.apiKeyId ?? null,
      trigger: { type: 'api' },
      input: null,
      metadata: null,
      webhookUrl: extra.webhookUrl ?? null,
      adhocSource: extra.scriptId ? null : 'results.x = 1;',
      timeoutMs: 1000,
      memoryMb: 64,
    });
    return id;
  }

  const finish = (id: string, output: unknown = { ok: true }) =>
    executions.finish(id, { status: 'completed', output, error: null, logs: [], logsTruncated: false, durationMs: 1 });

  // created_at has millisecond precision: a claim and a finish can share one,
  // so `started` is put first explicitly.
  async function rows(executionId: string) {
    const { rows } = await db.pool.query<{ id: string; event: string; source: string; subscription_id: string | null; payload: any; url: string }>(
      `SELECT id::text, event, source, subscription_id::text, payload, url FROM webhook_deliveries WHERE execution_id = $1 ORDER BY created_at, (event = 'execution.started') DESC, event, source`,
      [executionId],
    );
    return rows;
  }

  function service(schedule: number[] = [1000, 5000, 15000]) {
    return new WebhookDeliveryService({
      deliveries,
      queue,
      client,
      breakers,
      box,
      logger,
      settings: { retrySchedule: schedule, timeoutMs: 2000, maxOutputBytes: 256 * 1024, publicUrl: 'https://kiln.example' },
      random: () => 0.5,
    });
  }

  describe('the outbox', () => {
    it('writes nothing (and returns no ids) when nobody subscribes', async () => {
      const t = await tenant();
      const id = await execution(t.id);
      const claimed = await executions.claim(id, 'w1');
      expect(claimed?.webhookDeliveryIds).toEqual([]);
      expect((await finish(id))?.webhookDeliveryIds).toEqual([]);
      expect(await rows(id)).toEqual([]);
    });

    it('emits execution.started on the first claim only, and the outcome once', async () => {
      const t = await tenant();
      const sub = await subscription(t.id);
      const id = await execution(t.id);
      const first = await executions.claim(id, 'w1');
      expect(first?.webhookDeliveryIds).toHaveLength(1);
      // A crashed worker's job comes back: running → running, no second started.
      expect((await executions.claim(id, 'w2'))?.webhookDeliveryIds).toEqual([]);
      const done = await finish(id, { sum: 3 });
      expect(done?.webhookDeliveryIds).toHaveLength(1);
      expect(await finish(id)).toBeNull();
      expect(await executions.failIfUnfinished(id, { code: 'WORKER_LOST', message: 'x' })).toBeNull();

      const written = await rows(id);
      expect(written.map((r) => [r.event, r.source, r.subscription_id])).toEqual([
        ['execution.started', 'subscription', sub.id],
        ['execution.completed', 'subscription', sub.id],
      ]);
      const completed = written[1]!.payload;
      expect(completed).toMatchObject({ event: 'execution.completed', executionId: id, scriptId: null, workflowId: null, data: { status: 'completed', output: { sum: 3 } } });
      expect(completed.data.completedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(written[0]!.payload.data).toEqual({ status: 'running', startedAt: expect.any(String), completedAt: null });
    });

    it('honours the event list, the script filter and disabled subscriptions', async () => {
      const t = await tenant();
      const [a, b] = [await script(t.id), await script(t.id)];
      const scopedA = await subscription(t.id, { scriptId: a, events: ['execution.completed'] });
      await subscription(t.id, { scriptId: b });
      await subscription(t.id, { active: false });
      const failuresOnly = await subscription(t.id, { events: ['execution.failed'] });
      const id = await execution(t.id, { scriptId: a });
      await executions.claim(id, 'w1');
      await finish(id);
      expect((await rows(id)).map((r) => [r.event, r.subscription_id])).toEqual([['execution.completed', scopedA.id]]);

      const failing = await execution(t.id, { scriptId: b });
      await executions.claim(failing, 'w1');
      await executions.finish(failing, { status: 'failed', error: { code: 'EXECUTION_ERROR', message: 'boom' }, logs: [], logsTruncated: false, durationMs: 1 });
      const failed = (await rows(failing)).filter((r) => r.subscription_id === failuresOnly.id);
      expect(failed.map((r) => r.event)).toEqual(['execution.failed']);
      expect(failed[0]!.payload.data.error).toEqual({ code: 'EXECUTION_ERROR', message: 'boom' });
      expect(failed[0]!.payload.data.output).toBeUndefined();
    });

    it('writes API-key and per-run deliveries; a revoked key gets none', async () => {
      const t = await tenant();
      const keys = new ApiKeyRepository(db);
      const key = await keys.create({ tenantId: t.id, name: 'k', prefix: 'ak_x', keyHash: randomUUID(), scopes: [], webhookUrl: `${hookUrl()}?key`, webhookEvents: ['execution.completed'] });
      const id = await execution(t.id, { apiKeyId: key.id, webhookUrl: `${hookUrl()}?run` });
      await executions.claim(id, 'w1');
      await finish(id);
      expect((await rows(id)).map((r) => [r.event, r.source, r.url])).toEqual([
        ['execution.started', 'run', `${hookUrl()}?run`],
        ['execution.completed', 'api_key', `${hookUrl()}?key`],
        ['execution.completed', 'run', `${hookUrl()}?run`],
      ]);

      await keys.revoke(t.id, key.id);
      const after = await execution(t.id, { apiKeyId: key.id });
      await executions.claim(after, 'w1');
      await finish(after);
      expect(await rows(after)).toEqual([]);
    });

    it('emits execution.cancelled and execution.pending_approval from the gateway-side changes', async () => {
      const t = await tenant();
      await subscription(t.id);
      const pending = await execution(t.id);
      expect((await executions.cancelIfWaiting(t.id, pending))?.webhookDeliveryIds).toHaveLength(1);
      expect(await executions.cancelIfWaiting(t.id, pending)).toBeNull();

      const parked = await execution(t.id);
      await executions.claim(parked, 'w1');
      await executions.finish(parked, { status: 'pending_approval', approval: { rows: [] }, logs: [], logsTruncated: false, durationMs: 1 });
      expect((await executions.decideApproval(t.id, parked, 'rejected', 'no'))?.webhookDeliveryIds).toHaveLength(1);
      expect(await executions.decideApproval(t.id, parked, 'approved', null)).toBeNull();

      const approved = await execution(t.id, { scriptId: await script(t.id) });
      const claimed = await executions.claim(approved, 'w1');
      await executions.finish(approved, { status: 'pending_approval', logs: [], logsTruncated: false, durationMs: 1 });
      // The continuation's job names the script version, like every run's.
      expect(await executions.decideApproval(t.id, approved, 'approved', 'ok')).toEqual({
        webhookDeliveryIds: [],
        scriptId: claimed?.scriptId,
        scriptVersion: 1,
      });
      // The continuation's claim is not a second start.
      expect((await executions.claim(approved, 'w2'))?.webhookDeliveryIds).toEqual([]);

      expect((await rows(pending)).map((r) => r.event)).toEqual(['execution.cancelled']);
      expect((await rows(parked)).map((r) => r.event).sort()).toEqual(['execution.cancelled', 'execution.pending_approval', 'execution.started']);
      expect((await rows(approved)).map((r) => r.event).sort()).toEqual(['execution.pending_approval', 'execution.started']);
    });

    it('defers outputs too large to copy; the service links or inlines them by the exact rule', async () => {
      const t = await tenant();
      await subscription(t.id, { events: ['execution.completed'] });
      const big = await execution(t.id);
      await executions.claim(big, 'w1');
      await finish(big, { s: 'x'.repeat(300 * 1024) });
      const [row] = await rows(big);
      expect(row!.payload.data).toEqual({ status: 'completed', startedAt: expect.any(String), completedAt: expect.any(String), outputDeferred: true });
      await service().deliver({ deliveryId: row!.id, attempt: 0 });
      expect(JSON.parse(received[0]!.body).data).toMatchObject({ output: null, outputTruncated: true, outputUrl: `https://kiln.example/v1/executions/${big}` });
    });
  });

  describe('one attempt', () => {
    async function pendingDelivery(events = ['execution.completed']) {
      const t = await tenant();
      const sub = await subscription(t.id, { events });
      const id = await execution(t.id);
      await executions.claim(id, 'w1');
      const done = await finish(id);
      return { tenant: t, sub, executionId: id, deliveryId: done!.webhookDeliveryIds[0]! };
    }

    it('sends, signs and records a success', async () => {
      const { sub, deliveryId } = await pendingDelivery();
      const result = await service().deliver({ deliveryId, attempt: 0 });
      expect(result).toMatchObject({ kind: 'attempted', status: 'succeeded', statusCode: 200 });
      expect(received).toHaveLength(1);
      expect(verifyStandard(sub.secret, received[0]!.headers as Record<string, string>, received[0]!.body)).toBe(true);
      const row = await deliveries.findById((await deliveries.loadForSending(deliveryId))!.tenantId, deliveryId);
      expect(row).toMatchObject({ status: 'succeeded', attempts: 1, lastStatusCode: 200, lastError: null });
      expect(row!.attemptsLog.map((a) => [a.attempt, a.statusCode])).toEqual([[1, 200]]);
      expect(await queue.queue.getDelayedCount()).toBe(0);
    });

    it('signs with a rotated secret from the next attempt on', async () => {
      const { sub, tenant: t, deliveryId } = await pendingDelivery();
      const s = service();
      await s.deliver({ deliveryId, attempt: 0 });
      const rotated = generateWebhookSecret();
      await db.pool.query(`UPDATE webhook_subscriptions SET secret_enc = $2 WHERE id = $1`, [sub.id, box.seal(rotated)]);
      const next = await execution(t.id);
      await executions.claim(next, 'w1');
      await s.deliver({ deliveryId: (await finish(next))!.webhookDeliveryIds[0]!, attempt: 0 });
      // The opened old secret stays cached under its sealed value; the new sealed value is opened anew.
      const signedWith = (secret: string, r: Received) => verifyStandard(secret, r.headers, r.body);
      expect(received.map((r) => [signedWith(sub.secret, r), signedWith(rotated, r)])).toEqual([
        [true, false],
        [false, true],
      ]);
    });

    it('schedules the next attempt on the schedule, and fails after the last', async () => {
      status = 500;
      const { deliveryId } = await pendingDelivery();
      const s = service([100, 200]);
      expect(await s.deliver({ deliveryId, attempt: 0 })).toMatchObject({ kind: 'attempted', status: 'pending', retryInMs: 100 });
      const job = await queue.queue.getJob(WebhookQueue.jobId(deliveryId, 1));
      expect(job?.data).toEqual({ deliveryId, attempt: 1 });
      expect(job?.opts.delay).toBe(100);
      expect(await s.deliver({ deliveryId, attempt: 1 })).toMatchObject({ status: 'pending', retryInMs: 200 });
      expect(await s.deliver({ deliveryId, attempt: 2 })).toMatchObject({ status: 'failed', retryInMs: null, error: 'HTTP 500: answer' });
      const loaded = await deliveries.loadForSending(deliveryId);
      expect(loaded).toMatchObject({ status: 'failed', attempts: 3 });
      expect(received.map((r) => r.headers['webhook-id'])).toEqual(Array(3).fill(loaded!.messageId));
    });

    it('sends nothing for a stale copy of a job, but makes sure the current attempt has its job', async () => {
      status = 500;
      const { deliveryId } = await pendingDelivery();
      const s = service([60_000]);
      await s.deliver({ deliveryId, attempt: 0 });
      await queue.queue.remove(WebhookQueue.jobId(deliveryId, 1));
      expect(await s.deliver({ deliveryId, attempt: 0 })).toEqual({ kind: 'stale' });
      expect(received).toHaveLength(1);
      expect(await queue.queue.getJob(WebhookQueue.jobId(deliveryId, 1))).toBeDefined();
    });

    it('records each attempt once when two copies race', async () => {
      const { deliveryId } = await pendingDelivery();
      delayMs = 200; // both copies are in flight at once
      const results = await Promise.all([service().deliver({ deliveryId, attempt: 0 }), service().deliver({ deliveryId, attempt: 0 })]);
      expect(results.map((r) => r.kind).sort()).toEqual(['attempted', 'duplicate']);
      expect((await deliveries.loadForSending(deliveryId))?.attempts).toBe(1);
      // Both were sent (at-least-once), as the same message.
      expect(new Set(received.map((r) => r.headers['webhook-id'])).size).toBe(1);
    });

    it('sends and records many concurrent deliveries with their rows read and written in shared statements', async () => {
      const t = await tenant();
      await subscription(t.id, { events: ['execution.completed'] });
      const ids: string[] = [];
      for (let i = 0; i < 20; i += 1) {
        const id = await execution(t.id);
        await executions.claim(id, 'w1');
        ids.push(...(await finish(id, { i }))!.webhookDeliveryIds);
      }
      answerTogether = ids.length; // every attempt in flight at once, as under load
      const statements = jest.spyOn(db.pool, 'query');
      const s = service();
      const results = await Promise.all(ids.map((deliveryId) => s.deliver({ deliveryId, attempt: 0 })));
      const count = statements.mock.calls.length;
      statements.mockRestore();

      expect(results.every((r) => r.kind === 'attempted' && r.status === 'succeeded')).toBe(true);
      expect(received.map((r) => JSON.parse(r.body).data.output.i).sort((a, b) => a - b)).toEqual([...Array(20).keys()]);
      // 40 statements one at a time. The loads: two alone, then the other 18 together; the records likewise (more
      // when the answers come back spread out).
      expect(count).toBeLessThanOrEqual(10);
      const { rows } = await db.pool.query<{ status: string; attempts: number; logged: number }>(
        `SELECT d.status::text, d.attempts, (SELECT count(*)::int FROM webhook_attempts a WHERE a.delivery_id = d.id) AS logged
           FROM webhook_deliveries d WHERE d.id = ANY($1::uuid[])`,
        [ids],
      );
      expect(rows).toHaveLength(20);
      expect(rows.every((r) => r.status === 'succeeded' && r.attempts === 1 && r.logged === 1)).toBe(true);
    });

    it('records an attempt whose answer holds a NUL byte, which PostgreSQL text cannot store', async () => {
      status = 500;
      answerBody = 'bad\u0000answer';
      const { deliveryId } = await pendingDelivery();
      expect(await service([100]).deliver({ deliveryId, attempt: 0 })).toMatchObject({ kind: 'attempted', status: 'pending', error: 'HTTP 500: bad\uFFFDanswer' });
      expect(await deliveries.loadForSending(deliveryId)).toMatchObject({ status: 'pending', attempts: 1 });
    });

    it('disables the subscription on 410 Gone and stops retrying', async () => {
      status = 410;
      const { sub, tenant: t, deliveryId } = await pendingDelivery();
      expect(await service().deliver({ deliveryId, attempt: 0 })).toMatchObject({ status: 'failed', statusCode: 410 });
      const { rows: subs } = await db.pool.query(`SELECT active, disabled_at, disabled_reason FROM webhook_subscriptions WHERE id = $1`, [sub.id]);
      expect(subs[0]).toMatchObject({ active: false, disabled_at: expect.any(Date), disabled_reason: expect.stringMatching(/^HTTP 410 Gone from http:\/\/127\.0\.0\.1:\d+ \(delivery /) });
      // A disabled subscription matches no new events.
      const next = await execution(t.id);
      await executions.claim(next, 'w1');
      expect((await finish(next))?.webhookDeliveryIds).toEqual([]);
    });

    it('defers without counting an attempt while the destination breaker is open', async () => {
      const { deliveryId } = await pendingDelivery();
      const open = jest.spyOn(breakers, 'run').mockRejectedValue(new BreakerOpenError(`http://127.0.0.1:${port}`, 5_000));
      const result = await service().deliver({ deliveryId, attempt: 0 });
      open.mockRestore();
      expect(result).toMatchObject({ kind: 'deferred' });
      expect((result as { delayMs: number }).delayMs).toBeGreaterThanOrEqual(5_000);
      expect((result as { delayMs: number }).delayMs).toBeLessThanOrEqual(6_000);
      const row = await deliveries.loadForSending(deliveryId);
      expect(row).toMatchObject({ status: 'pending', attempts: 0 });
      const { rows: r } = await db.pool.query(`SELECT last_error FROM webhook_deliveries WHERE id = $1`, [deliveryId]);
      expect(r[0].last_error).toMatch(/^circuit open for http:\/\/127\.0\.0\.1:\d+; attempt 1 deferred \(not counted\)$/);
      expect(received).toHaveLength(0);
    });

    it('ends a delivery of a deleted subscription without sending it', async () => {
      const { sub, deliveryId } = await pendingDelivery();
      await db.pool.query(`DELETE FROM webhook_subscriptions WHERE id = $1`, [sub.id]);
      expect(await service().deliver({ deliveryId, attempt: 0 })).toEqual({ kind: 'abandoned', reason: 'the subscription was deleted' });
      expect(received).toHaveLength(0);
      expect((await deliveries.loadForSending(deliveryId))?.status).toBe('failed');
    });
  });

  describe('the relay', () => {
    it('enqueues due rows that no job carries, once', async () => {
      const t = await tenant();
      await subscription(t.id, { events: ['execution.completed'] });
      const id = await execution(t.id);
      await executions.claim(id, 'w1');
      const [deliveryId] = (await finish(id))!.webhookDeliveryIds;
      // The enqueue after commit never happened; let the row age past the threshold.
      await db.pool.query(`UPDATE webhook_deliveries SET next_attempt_at = now() - interval '10 seconds' WHERE id = $1`, [deliveryId]);
      const relay = new WebhookRelay(deliveries, queue, { lostAfterMs: 5_000, stuckAfterMs: 120_000, intervalMs: 1_000, batchSize: 100 }, logger);
      expect(await relay.tick()).toBe(1);
      expect(await queue.queue.getJob(WebhookQueue.jobId(deliveryId!, 0))).toBeDefined();
      expect(await relay.tick()).toBe(0);
      // Adding the same job again is a no-op while it exists.
      await queue.enqueueNew([deliveryId!]);
      expect(await queue.queue.getWaitingCount()).toBe(1);
    });
  });
});

import http from 'node:http';
import { Queue } from 'bullmq';
import { asyncWindow, RUN_BODY, type AsyncWindowResult, type BenchContext } from '../context';
import { Histogram, type LatencySummary } from '../histogram';
import { round, say, until } from '../log';
import { RUN_INPUT } from '../scripts';

export interface WebhookResults {
  status: 'measured' | 'skipped';
  note: string;
  /** How the subscriber was registered: a subscription (POST /v1/webhooks) or a per-run webhookUrl. */
  via: 'subscription' | 'run webhookUrl' | null;
  deliveriesPerSec: number | null;
  /** execution finishedAt (database) → the receiver got the request. */
  completionToDelivery: LatencySummary | null;
  deliveries: number;
  completed: number;
  async: AsyncWindowResult | null;
}

interface Arrival {
  executionId: string;
  event: string;
  at: number;
}

/** A loopback receiver that answers 200 at once and notes what arrived when. */
async function startReceiver(): Promise<{ url: string; arrivals: Arrival[]; close(): Promise<void> }> {
  const arrivals: Arrival[] = [];
  const server = http.createServer((req, res) => {
    const at = Date.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let executionId = String(req.headers['x-webhook-execution-id'] ?? '');
      let event = String(req.headers['x-webhook-event'] ?? '');
      if (!executionId || !event) {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { executionId?: string; event?: string };
          executionId ||= body.executionId ?? '';
          event ||= body.event ?? '';
        } catch {
          // not JSON: still an arrival
        }
      }
      arrivals.push({ executionId, event, at });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    arrivals,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const skipped = (note: string, via: WebhookResults['via'] = null): WebhookResults => ({
  status: 'skipped',
  note,
  via,
  deliveriesPerSec: null,
  completionToDelivery: null,
  deliveries: 0,
  completed: 0,
  async: null,
});

/**
 * Async runs with one webhook subscriber on loopback: deliveries per second
 * and completion → delivery latency. Skips (never hangs) when the notifier
 * does not deliver.
 */
export async function webhookScenario(ctx: BenchContext): Promise<WebhookResults> {
  const s = ctx.settings;
  const script = 'webhook';
  const scriptId = (ctx.tenant.scripts[script] as { id: string }).id;
  const receiver = await startReceiver();
  let subscriptionId: string | null = null;
  try {
    const sub = await ctx.stack.api<{ id?: string }>('POST', '/v1/webhooks', ctx.tenant.key, { url: receiver.url, events: ['execution.completed'], scriptId });
    let via: WebhookResults['via'];
    let body = RUN_BODY;
    if (sub.status === 201 && sub.body.id) {
      subscriptionId = sub.body.id;
      via = 'subscription';
    } else {
      // No subscriptions API (yet): the per-run webhookUrl is the other documented way.
      via = 'run webhookUrl';
      body = JSON.stringify({ input: RUN_INPUT, webhookUrl: receiver.url });
    }

    say(`scenario webhook: probing delivery to a loopback receiver (${via})`);
    const probe = await ctx.stack.api<{ status?: string; executionId?: string; id?: string }>(
      'POST',
      `/v1/scripts/${scriptId}/runs`,
      ctx.tenant.key,
      { ...(JSON.parse(body) as object), wait: true },
    );
    if (probe.status !== 200) return skipped(`the probe run did not complete (HTTP ${probe.status})`, via);
    const delivered = await until(() => Promise.resolve(receiver.arrivals.length > 0), s.webhookProbeMs, 100);
    if (!delivered) {
      const note = `notifier not delivering: no webhook arrived within ${s.webhookProbeMs / 1000} s of a completed execution (${via}${sub.status !== 201 ? `; POST /v1/webhooks answered ${sub.status}` : ''})`;
      say(`  webhook: skipped, ${note}`);
      return skipped(note, via);
    }
    receiver.arrivals.length = 0;

    const async = await asyncWindow(ctx, 'webhook', script, s.webhookDurationMs, {
      body,
      beforeSettle: async () => {
        // Deliveries trail completions: give them the drain time to catch up.
        const rows = await ctx.stack.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM executions WHERE tenant_id = $2::uuid AND script_id = $1::uuid AND status = 'completed'`,
          [scriptId, ctx.tenant.id],
        );
        const target = (rows[0]?.n ?? 1) - 1;
        await until(() => Promise.resolve(receiver.arrivals.filter((a) => a.event !== 'execution.started').length >= target), s.drainMaxMs, 200);
      },
    });
    const completions = receiver.arrivals.filter((a) => a.event === 'execution.completed' || a.event === '');
    const ids = completions.map((a) => a.executionId).filter(Boolean);
    const finished = new Map<string, number>();
    for (let i = 0; i < ids.length; i += 5000) {
      const rows = await ctx.stack.query<{ id: string; finished_ms: string }>(
        `SELECT id::text, (extract(epoch FROM finished_at) * 1000)::bigint AS finished_ms FROM executions WHERE id = ANY($1::uuid[])`,
        [ids.slice(i, i + 5000)],
      );
      for (const r of rows) finished.set(r.id, Number(r.finished_ms));
    }
    // Latency of the executions that finished inside the window; rate of the deliveries that arrived inside it.
    const histogram = new Histogram();
    for (const a of completions) {
      const end = finished.get(a.executionId);
      if (end !== undefined && end >= async.windowStart && end < async.windowEnd) histogram.record(Math.max(0, a.at - end));
    }
    const windowDeliveries = completions.filter((a) => a.at >= async.windowStart && a.at < async.windowEnd).length;
    const deliveriesPerSec = round(windowDeliveries / Math.max(1e-9, async.durationSec), 1);
    const result: WebhookResults = {
      status: 'measured',
      note: `${windowDeliveries} deliveries arrived in the window, in which ${async.executions.completed} executions completed`,
      via,
      deliveriesPerSec,
      completionToDelivery: histogram.summary(),
      deliveries: windowDeliveries,
      completed: async.executions.completed,
      async,
    };
    say(`  webhook: ${deliveriesPerSec} deliveries/s, completion → delivery p50 ${result.completionToDelivery?.p50Ms} ms p99 ${result.completionToDelivery?.p99Ms} ms`);
    return result;
  } finally {
    if (subscriptionId) await ctx.stack.api('DELETE', `/v1/webhooks/${subscriptionId}`, ctx.tenant.key).catch(() => undefined);
    // Deliveries still queued would run into the next scenario.
    const webhooks = new Queue('webhooks', { connection: ctx.stack.redis, prefix: ctx.stack.options.redisPrefix });
    await webhooks.drain(true).catch(() => undefined);
    await webhooks.close().catch(() => undefined);
    await receiver.close();
  }
}

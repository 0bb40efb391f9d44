// The floor: the least a server can do for one sandboxed run. node:http,
// the same JSON body, the same script in isolated-vm with a fresh context per
// request (isolates reused, one per core), nothing else: no auth, no
// database, no queue. Started in a child process of its own by floor.ts.
import http from 'node:http';
import os from 'node:os';
import ivm from 'isolated-vm';

interface Slot {
  isolate: ivm.Isolate;
  inFlight: number;
  waiting: (() => void)[];
}

const isolateCount = Math.max(1, Number(process.env.KILN_FLOOR_ISOLATES) || os.availableParallelism());
// An isolate runs one thing at a time. Two runs in flight per isolate keep
// its thread busy while the main thread parses and answers (measured on a
// 2-core machine: 1 → 3,750 req/s, 2 → 5,300, 4 → 5,150, unbounded → 3,450
// and CPU-heavy scripts then exhaust the 64 MB heap with live contexts).
// The floor is meant to be the best a minimal server does.
const perIsolate = Math.max(1, Number(process.env.KILN_FLOOR_RUNS_PER_ISOLATE) || 2);
const memoryMb = Number(process.env.KILN_FLOOR_MEMORY_MB) || 64;
const timeoutMs = 30_000;
const newSlot = (): Slot => ({ isolate: new ivm.Isolate({ memoryLimit: memoryMb }), inFlight: 0, waiting: [] });
const slots: Slot[] = Array.from({ length: isolateCount }, newSlot);

// The same CommonJS handler Kiln runs: `module.exports = (ctx) => …`.
const wrap = (source: string): string => `(function () { const module = { exports: {} }; const exports = module.exports;\n${source}\n; return module.exports; })()`;

function pick(): Slot {
  let best = slots[0] as Slot;
  for (const slot of slots) if (slot.inFlight + slot.waiting.length < best.inFlight + best.waiting.length) best = slot;
  return best;
}

async function runOnce(source: string, input: unknown): Promise<unknown> {
  const slot = pick();
  if (slot.inFlight >= perIsolate) await new Promise<void>((resolve) => slot.waiting.push(resolve));
  slot.inFlight += 1;
  try {
    const context = await slot.isolate.createContext();
    try {
      const handler = (await context.eval(wrap(source), { reference: true, timeout: timeoutMs })) as ivm.Reference<unknown>;
      try {
        return await handler.apply(undefined, [new ivm.ExternalCopy({ input }).copyInto()], { result: { promise: true, copy: true }, timeout: timeoutMs });
      } finally {
        handler.release();
      }
    } finally {
      context.release();
    }
  } finally {
    // A disposed isolate (memory limit) is replaced, as Kiln's sandbox does.
    if (slot.isolate.isDisposed) slot.isolate = new ivm.Isolate({ memoryLimit: memoryMb });
    slot.inFlight -= 1;
    slot.waiting.shift()?.();
  }
}

// name → source, handed over by floor.ts before the server starts listening.
const scripts = new Map<string, string>(Object.entries(JSON.parse(process.env.KILN_FLOOR_SCRIPTS ?? '{}') as Record<string, string>));

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const server = http.createServer((req, res) => {
  const reply = (status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  readBody(req)
    .then(async (raw) => {
      // POST /run/<name> {input}: runs the script registered under <name>.
      const name = (req.url ?? '').replace(/^\/run\//, '');
      const source = scripts.get(name);
      if (!source) return reply(404, { error: `no script '${name}'` });
      const body = JSON.parse(raw) as { input?: unknown };
      const output = await runOnce(source, body.input ?? null);
      reply(200, { status: 'completed', output });
    })
    .catch((err: unknown) => reply(500, { status: 'failed', error: (err as Error).message }));
});
server.keepAliveTimeout = 65_000;

process.on('message', (message: { type: string }) => {
  if (message.type === 'stop') {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.send?.({ type: 'ready', port, isolates: isolateCount, runsPerIsolate: perIsolate });
});

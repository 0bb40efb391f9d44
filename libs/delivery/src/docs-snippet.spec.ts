import { createHash } from 'node:crypto';
import * as nodeCrypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createContext, runInContext } from 'node:vm';
import { generateWebhookSecret } from '@kiln/webhooks';
import { buildDeliveryRequest } from './delivery-request';

// docs/webhooks.md promises a copy-paste Node verifier. This runs that exact
// code block (with node:http stubbed so it does not listen) against requests
// built by the notifier's own request builder.

const DOC = path.resolve(__dirname, '..', '..', '..', 'docs', 'webhooks.md');

function snippet(): string {
  const text = readFileSync(DOC, 'utf8');
  const start = text.indexOf('```js\n// verify-kiln-webhook.js');
  if (start < 0) throw new Error('docs/webhooks.md has no verify-kiln-webhook.js block');
  const body = text.slice(start + '```js\n'.length);
  return body.slice(0, body.indexOf('```'));
}

type Handler = (req: EventEmitter & { headers: Record<string, string> }, res: { writeHead(status: number): { end(body?: string): void } }) => void;

interface Loaded {
  verifyLegacy(rawBody: Buffer, headers: Record<string, string>, secret: string): boolean;
  verifyStandard(rawBody: Buffer, headers: Record<string, string>, secret: string): boolean;
  handle(headers: Record<string, string>, rawBody: Buffer): number;
}

function load(secret: string): Loaded {
  let handler: Handler | undefined;
  const http = { createServer: (h: Handler) => ((handler = h), { listen: () => undefined }) };
  const context = createContext({
    require: (name: string) => (name === 'node:crypto' ? nodeCrypto : name === 'node:http' ? http : undefined),
    process: { env: { KILN_WEBHOOK_SECRET: secret } },
    Buffer,
    console: { log: () => undefined },
    Date,
    Math,
    Number,
    String,
    JSON,
    Set,
  });
  runInContext(snippet(), context);
  const fns = context as unknown as Omit<Loaded, 'handle'>;
  return {
    verifyLegacy: fns.verifyLegacy,
    verifyStandard: fns.verifyStandard,
    handle(headers, rawBody) {
      let status = 0;
      const req = Object.assign(new EventEmitter(), { headers });
      handler!(req, { writeHead: (s: number) => ((status = s), { end: () => undefined }) });
      req.emit('data', rawBody);
      req.emit('end');
      return status;
    },
  };
}

function delivery(secret: string, now = new Date()) {
  const { body, headers } = buildDeliveryRequest({
    payload: {
      event: 'execution.completed',
      executionId: '01a20098-25e7-706b-a4dc-b193d31333ce',
      scriptId: null,
      timestamp: now.toISOString(),
      data: { status: 'completed', startedAt: now.toISOString(), completedAt: now.toISOString(), output: { note: 'ünïcødé ✓' } },
    },
    deferredOutput: null,
    messageId: `msg_${createHash('md5').update(String(now.getTime())).digest('hex')}`,
    secret,
    now,
    maxOutputBytes: 256 * 1024,
    executionUrl: '/v1/executions/x',
  });
  // What node:http hands a server: lower-case header names, raw bytes.
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { rawBody: Buffer.from(body, 'utf8'), headers: lower };
}

describe('the Node verifier in docs/webhooks.md', () => {
  it('accepts a real delivery with both schemes and answers 204', () => {
    const secret = generateWebhookSecret();
    const verifier = load(secret);
    const { rawBody, headers } = delivery(secret);
    expect(verifier.verifyLegacy(rawBody, headers, secret)).toBe(true);
    expect(verifier.verifyStandard(rawBody, headers, secret)).toBe(true);
    expect(verifier.handle(headers, rawBody)).toBe(204);
  });

  it('refuses a changed body, another secret and a stale timestamp', () => {
    const secret = generateWebhookSecret();
    const verifier = load(secret);
    const { rawBody, headers } = delivery(secret);
    const tampered = Buffer.from(rawBody.toString('utf8').replace('completed', 'cancelled'));
    expect(verifier.handle(headers, tampered)).toBe(401);
    const other = generateWebhookSecret();
    expect(verifier.verifyLegacy(rawBody, headers, other)).toBe(false);
    expect(verifier.verifyStandard(rawBody, headers, other)).toBe(false);
    const old = delivery(secret, new Date(Date.now() - 10 * 60_000));
    expect(verifier.verifyStandard(old.rawBody, old.headers, secret)).toBe(false);
  });

  it('accepts an API key webhook signed with a free-form secret (sha256= only)', () => {
    const secret = 'your-webhook-secret-key';
    const verifier = load(secret);
    const { rawBody, headers } = delivery(secret);
    expect(headers['webhook-signature']).toBeUndefined();
    expect(verifier.handle(headers, rawBody)).toBe(204);
    expect(verifier.handle({ ...headers, 'x-webhook-signature': 'sha256=00' }, rawBody)).toBe(401);
  });
});

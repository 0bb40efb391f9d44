import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One request as the receiver saw it: the raw bytes are what signatures cover. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
  body: string;
  /** Parsed JSON, or undefined when the body is not JSON. */
  json: any;
  /** Date.now() when the request's body had fully arrived. */
  at: number;
  /** 0-based arrival number on this receiver. */
  index: number;
}

/** How to answer: a status (default 200), optionally after a delay; or drop the connection. */
export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  delayMs?: number;
  /** Close the socket without answering. */
  destroy?: boolean;
}

export type Responder = (request: ReceivedRequest) => Reply;

interface Waiter {
  predicate: (r: ReceivedRequest) => boolean;
  count: number;
  resolve: (matches: ReceivedRequest[]) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * A real HTTP receiver on loopback for webhook tests. It records every
 * request (raw body, headers, arrival time), answers as told, can go down
 * (connection refused) and come back on the same port, and lets a test
 * wait for requests as they arrive instead of sleeping.
 */
export class WebhookReceiver {
  readonly requests: ReceivedRequest[] = [];
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly waiters = new Set<Waiter>();
  private port = 0;

  private constructor(private responder: Responder) {}

  static async start(responder: Responder = () => ({ status: 200 }), port = 0): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver(responder);
    await receiver.listen(port);
    return receiver;
  }

  /** http://127.0.0.1:<port><path> */
  url(path = '/hook'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  get listening(): boolean {
    return this.server !== null;
  }

  respondWith(responder: Responder): void {
    this.responder = responder;
  }

  /** Requests matching `predicate` (default: all). */
  matching(predicate: (r: ReceivedRequest) => boolean = () => true): ReceivedRequest[] {
    return this.requests.filter(predicate);
  }

  /** Resolves with the first `count` matching requests once that many have arrived. */
  waitFor(predicate: (r: ReceivedRequest) => boolean, count = 1, timeoutMs = 30_000): Promise<ReceivedRequest[]> {
    const already = this.matching(predicate);
    if (already.length >= count) return Promise.resolve(already.slice(0, count));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        predicate,
        count,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(new Error(`receiver: ${this.matching(predicate).length}/${count} matching requests after ${timeoutMs} ms (${this.requests.length} in all)`));
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  /** Goes down: the port refuses connections until {@link up}. */
  async down(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Comes back on the same port. */
  async up(): Promise<void> {
    if (this.server) return;
    await this.listen(this.port);
  }

  async stop(): Promise<void> {
    await this.down();
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error('receiver stopped'));
    }
    this.waiters.clear();
  }

  private async listen(port: number): Promise<void> {
    const server = createServer((req, res) => this.handle(req, res));
    server.keepAliveTimeout = 1_000;
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks);
      const body = rawBody.toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      const request: ReceivedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        rawBody,
        body,
        json,
        at: Date.now(),
        index: this.requests.length,
      };
      this.requests.push(request);
      this.notify();
      const reply = this.responder(request);
      const send = () => {
        if (reply.destroy) {
          req.socket.destroy();
          return;
        }
        res.writeHead(reply.status ?? 200, { 'content-type': 'text/plain', ...(reply.headers ?? {}) });
        res.end(reply.body ?? 'ok');
      };
      if (reply.delayMs && reply.delayMs > 0) {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          send();
        }, reply.delayMs);
        this.timers.add(timer);
      } else {
        send();
      }
    });
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) {
      const matches = this.matching(waiter.predicate);
      if (matches.length >= waiter.count) {
        clearTimeout(waiter.timer);
        this.waiters.delete(waiter);
        waiter.resolve(matches.slice(0, waiter.count));
      }
    }
  }
}

/** The `X-Webhook-Event` of a request. */
export const eventOf = (r: ReceivedRequest): string => String(r.headers['x-webhook-event'] ?? '');
/** The execution a request reports. */
export const executionOf = (r: ReceivedRequest): string => String(r.headers['x-webhook-execution-id'] ?? '');

/** The receivers one test file starts, stopped together in afterAll. */
export class Receivers {
  private readonly started: WebhookReceiver[] = [];

  readonly start = async (...args: Parameters<typeof WebhookReceiver.start>): Promise<WebhookReceiver> => {
    const receiver = await WebhookReceiver.start(...args);
    this.started.push(receiver);
    return receiver;
  };

  async stopAll(): Promise<void> {
    await Promise.all(this.started.map((r) => r.stop()));
  }
}

/** A counter or gauge from an app's /metrics (0 when absent). */
export async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').pop()) : 0;
}

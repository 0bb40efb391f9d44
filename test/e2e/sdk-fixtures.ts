import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type ApiClient, eventually } from '@kiln/testing';

// Shared by sdk, triggers and hostile e2e files: loopback HTTP targets for
// scripts' fetch, and small helpers over the API.

export interface Hit {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface Target {
  origin: string;
  host: string;
  port: number;
  hits: Hit[];
  close(): Promise<void>;
}

export type TargetHandler = (request: IncomingMessage, body: string, response: ServerResponse) => void;

/** Echoes method, url, headers and body back as JSON. */
export const echo: TargetHandler = (request, body, response) => {
  response.setHeader('content-type', 'application/json');
  response.setHeader('x-target', 'yes');
  response.end(JSON.stringify({ method: request.method, url: request.url, headers: request.headers, body }));
};

/** A real node:http server on a loopback address that records every request. */
export async function startTarget(handler: TargetHandler = echo, host = '127.0.0.1'): Promise<Target> {
  const hits: Hit[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      hits.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body });
      handler(request, body, response);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, host);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `http://${host}:${port}`,
    host,
    port,
    hits,
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close').catch(() => undefined);
    },
  };
}

export function uniqueName(prefix = 's'): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
}

export async function createScript(api: ApiClient, body: Record<string, unknown>): Promise<{ id: string; name: string; [k: string]: unknown }> {
  const res = await api.post('/v1/scripts', { name: uniqueName(), ...body });
  if (res.status !== 201) throw new Error(`script create: ${res.status} ${res.text}`);
  return res.body;
}

/** Runs ad-hoc code in wait mode; returns the finished execution. */
export async function runAdhoc(api: ApiClient, source: string, extra: Record<string, unknown> = {}): Promise<any> {
  const res = await api.post('/v1/runs', { source, wait: 30_000, ...extra });
  if (res.status !== 200) throw new Error(`run did not finish in time: ${res.status} ${res.text}`);
  return res.body;
}

export async function runScript(api: ApiClient, scriptId: string, body: Record<string, unknown> = {}): Promise<any> {
  const res = await api.post(`/v1/scripts/${scriptId}/runs`, { wait: 30_000, ...body });
  if (res.status !== 200) throw new Error(`run did not finish in time: ${res.status} ${res.text}`);
  return res.body;
}

export function pollExecution(api: ApiClient, id: string, done: (e: any) => boolean, timeoutMs = 30_000): Promise<any> {
  return eventually(
    async () => {
      const res = await api.get(`/v1/executions/${id}`);
      return res.status === 200 && done(res.body) ? res.body : undefined;
    },
    { timeoutMs, intervalMs: 100, what: `execution ${id}` },
  );
}

/** Executions of one script, oldest first. */
export async function executionsOf(api: ApiClient, scriptId: string): Promise<any[]> {
  const res = await api.get(`/v1/executions?scriptId=${scriptId}&limit=1000`);
  if (res.status !== 200) throw new Error(`list executions: ${res.status} ${res.text}`);
  return [...(res.body.items as any[])].reverse();
}

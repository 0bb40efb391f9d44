import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  readonly rawBody: Buffer;
}

export interface LoopbackServer {
  readonly server: Server;
  readonly host: string;
  readonly port: number;
  /** Origin with the literal address, e.g. http://127.0.0.1:12345 */
  readonly origin: string;
  readonly requests: RecordedRequest[];
  readonly sockets: Socket[];
  close(): Promise<void>;
}

type Handler = (request: IncomingMessage & { body: string }, response: ServerResponse) => void;

/** A real node:http server on a loopback address that records every connection and request. */
export async function startServer(handler: Handler, host = '127.0.0.1', port = 0): Promise<LoopbackServer> {
  const requests: RecordedRequest[] = [];
  const sockets: Socket[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const rawBody = Buffer.concat(chunks);
      const body = rawBody.toString('utf8');
      requests.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body, rawBody });
      handler(Object.assign(request, { body }), response);
    });
  });
  server.on('connection', (socket) => sockets.push(socket));
  server.listen(port, host);
  await once(server, 'listening');
  const address = server.address() as AddressInfo;
  const hostInUrl = host.includes(':') ? `[${host}]` : host;
  return {
    server,
    host,
    port: address.port,
    origin: `http://${hostInUrl}:${address.port}`,
    requests,
    sockets,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** Echoes the request back as JSON. */
export const echo: Handler = (request, response) => {
  response.setHeader('content-type', 'application/json');
  response.setHeader('x-reply', 'yes');
  response.end(JSON.stringify({ method: request.method, url: request.url, headers: request.headers, body: request.body }));
};

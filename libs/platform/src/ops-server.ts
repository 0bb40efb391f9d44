import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { INestApplicationContext } from '@nestjs/common';
import { PROMETHEUS_CONTENT_TYPE, Registry } from '@kiln/observability';
import { ReadinessProbe } from './readiness';

export interface OpsServer {
  port: number;
  close(): Promise<void>;
}

/**
 * Workers and notifiers have no API; this small listener gives them
 * /health/live, /health/ready and /metrics for Kubernetes and Prometheus.
 */
export async function startOpsServer(app: INestApplicationContext, host: string, port: number): Promise<OpsServer> {
  const readiness = app.get(ReadinessProbe);
  const registry = app.get(Registry);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET') return send(405, 'application/json', JSON.stringify({ error: 'method not allowed' }));
    if (path === '/health/live') return send(200, 'application/json', JSON.stringify({ status: 'ok' }));
    if (path === '/health/ready') {
      void readiness.check().then((report) => send(report.status === 'ok' ? 200 : 503, 'application/json', JSON.stringify(report)));
      return;
    }
    if (path === '/metrics') {
      void registry.metrics().then((text) => send(200, PROMETHEUS_CONTENT_TYPE, text));
      return;
    }
    send(404, 'application/json', JSON.stringify({ error: 'not found' }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

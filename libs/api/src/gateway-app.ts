import type { Server } from 'node:http';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { KilnConfig } from '@kiln/config';
import { Registry, stepTraceEnabled, traceStep, type Logger } from '@kiln/observability';
import { registerConsoleAssets } from './console/console-assets';
import { installHttpMetrics } from './http/http-metrics';
import { NestPinoLogger } from './http/nest-logger';

export interface GatewayHttpOptions {
  config: KilnConfig;
  logger: Logger;
  /** Port override (tests pass 0 for an ephemeral port). */
  port?: number;
}

/**
 * Builds the Fastify-backed Nest application for a root module that imports
 * PlatformModule and ApiModule, and starts listening.
 */
export async function startGatewayHttp(rootModule: Type<unknown>, options: GatewayHttpOptions): Promise<NestFastifyApplication> {
  const { config, logger } = options;
  const adapter = new FastifyAdapter({
    bodyLimit: config.http.bodyLimitBytes,
    trustProxy: true,
    routerOptions: { maxParamLength: 1000 },
    // Keep-alive longer than typical load balancer idle timeouts (60 s).
    keepAliveTimeout: 65_000,
    return503OnClosing: true,
  });
  const app = await NestFactory.create<NestFastifyApplication>(rootModule, adapter, {
    logger: new NestPinoLogger(logger),
    abortOnError: false,
  });
  app.enableShutdownHooks();
  const fastify = app.getHttpAdapter().getInstance();
  installHttpMetrics(fastify, app.get(Registry));
  if (stepTraceEnabled) {
    fastify.addHook('onRequest', (_request, _reply, done) => {
      traceStep('gateway.received');
      done();
    });
    fastify.addHook('onSend', (_request, _reply, payload, done) => {
      traceStep('gateway.answered');
      done(null, payload);
    });
  }
  await app.register(fastifyStatic, {
    root: path.dirname(require.resolve('swagger-ui-dist/package.json')),
    prefix: '/docs/assets/',
    decorateReply: false,
    allowedPath: (pathName) => /^\/(swagger-ui\.css|swagger-ui-bundle\.js|favicon-\d+x\d+\.png)$/.test(pathName),
  });
  // The web console's CSS/JS, htmx and Monaco, from node_modules (no CDN).
  await registerConsoleAssets(app);
  await app.listen(options.port ?? config.http.port, config.http.host);
  return app;
}

export function listeningUrl(app: INestApplication): string {
  const server = app.getHttpServer() as Server;
  const address = server.address();
  if (address && typeof address === 'object') {
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${address.port}`;
  }
  return String(address);
}

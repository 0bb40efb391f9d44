import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadConfigOrExit } from '@kiln/config';
import { createLogger } from '@kiln/observability';
import { PlatformModule, startOpsServer } from '@kiln/platform';
import { RunnerModule } from '@kiln/runner';

const config = loadConfigOrExit();
const logger = createLogger({ name: 'worker', level: config.logLevel });

@Module({ imports: [PlatformModule.forRoot({ config, appName: 'worker', logger }), RunnerModule] })
class WorkerAppModule {}

async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(WorkerAppModule, { logger: false });
  app.enableShutdownHooks();
  await app.init();
  const ops = await startOpsServer(app, config.http.host, config.worker.port);
  logger.info({ healthPort: ops.port, workerId: config.worker.id }, 'worker started');
}

main().catch((err: unknown) => {
  logger.fatal({ err }, 'worker failed to start');
  process.exit(1);
});

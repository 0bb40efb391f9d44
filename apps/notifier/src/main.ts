import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadConfigOrExit } from '@kiln/config';
import { DeliveryModule } from '@kiln/delivery';
import { createLogger } from '@kiln/observability';
import { PlatformModule, startOpsServer } from '@kiln/platform';

const config = loadConfigOrExit();
const logger = createLogger({ name: 'notifier', level: config.logLevel });

@Module({ imports: [PlatformModule.forRoot({ config, appName: 'notifier', logger }), DeliveryModule] })
class NotifierAppModule {}

async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(NotifierAppModule, { logger: false });
  app.enableShutdownHooks();
  await app.init();
  const ops = await startOpsServer(app, config.http.host, config.notifier.port);
  logger.info({ healthPort: ops.port }, 'notifier started');
}

main().catch((err: unknown) => {
  logger.fatal({ err }, 'notifier failed to start');
  process.exit(1);
});

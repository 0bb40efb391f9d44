import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { ApiModule, listeningUrl, startGatewayHttp } from '@kiln/api';
import { loadConfigOrExit } from '@kiln/config';
import { createLogger } from '@kiln/observability';
import { PlatformModule } from '@kiln/platform';

const config = loadConfigOrExit();
const logger = createLogger({ name: 'gateway', level: config.logLevel });

@Module({ imports: [PlatformModule.forRoot({ config, appName: 'gateway', logger }), ApiModule] })
class GatewayAppModule {}

startGatewayHttp(GatewayAppModule, { config, logger })
  .then((app) => logger.info({ url: listeningUrl(app) }, 'gateway listening'))
  .catch((err: unknown) => {
    logger.fatal({ err }, 'gateway failed to start');
    process.exit(1);
  });

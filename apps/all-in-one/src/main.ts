import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { ApiModule, listeningUrl, startGatewayHttp } from '@kiln/api';
import { loadConfigOrExit } from '@kiln/config';
import { DeliveryModule } from '@kiln/delivery';
import { createLogger } from '@kiln/observability';
import { PlatformModule } from '@kiln/platform';
import { RunnerModule } from '@kiln/runner';

// Gateway, worker and notifier in one process, for the quick start and for
// development. Production runs the three apps as separate deployments.
const config = loadConfigOrExit();
const logger = createLogger({ name: 'kiln', level: config.logLevel });

@Module({ imports: [PlatformModule.forRoot({ config, appName: 'all-in-one', logger }), ApiModule, RunnerModule, DeliveryModule] })
class AllInOneModule {}

startGatewayHttp(AllInOneModule, { config, logger })
  .then((app) => logger.info({ url: listeningUrl(app) }, 'kiln (gateway + worker + notifier) listening'))
  .catch((err: unknown) => {
    logger.fatal({ err }, 'kiln failed to start');
    process.exit(1);
  });

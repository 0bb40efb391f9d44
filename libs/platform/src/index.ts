export { PlatformModule, type PlatformOptions } from './platform.module';
export { ReadinessProbe, type ReadinessReport } from './readiness';
export { APP_NAME, InjectConfig, InjectLogger, InjectRedis, KILN_CONFIG, LOGGER, REDIS, REDIS_SUBSCRIBER } from './tokens';
export { startOpsServer, type OpsServer } from './ops-server';

export { ApiModule } from './api.module';
export { listeningUrl, startGatewayHttp, type GatewayHttpOptions } from './gateway-app';
export { documentedOperations } from './docs/openapi-document';

export { AppProcess, type AppName, type LogLine } from './app-process';
export { ApiClient, eventually, type ApiResponse } from './http-client';
export { KilnStack, type KilnStackOptions } from './kiln-stack';
export { hasLocalPostgresSocket, LOCAL_POSTGRES_SOCKET_DIR, viaLocalPostgresSocket } from './local-postgres-socket';
export { adminQuery, createTestDatabase, type TestDatabase } from './test-database';
export { testEnv, uniqueSuffix, type TestEnv } from './test-env';
export { createTestRedisPrefix } from './test-redis';

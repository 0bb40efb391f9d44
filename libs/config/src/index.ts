export { ConfigError, loadConfig, loadConfigOrExit, type KilnConfig } from './kiln-config';
export { decodeKey } from './env-schema';

import { Inject } from '@nestjs/common';

// Tokens for values that are not classes (config object, Redis clients, logger).
export const KILN_CONFIG = Symbol('KILN_CONFIG');
export const REDIS = Symbol('REDIS');
export const REDIS_SUBSCRIBER = Symbol('REDIS_SUBSCRIBER');
export const LOGGER = Symbol('LOGGER');
export const APP_NAME = Symbol('APP_NAME');

export const InjectConfig = (): ParameterDecorator => Inject(KILN_CONFIG);
export const InjectRedis = (): ParameterDecorator => Inject(REDIS);
export const InjectLogger = (): ParameterDecorator => Inject(LOGGER);

export { createLogger, type Logger } from './logger';
export { Counter, Gauge, Histogram, PROMETHEUS_CONTENT_TYPE, Registry, createMetricsRegistry, registeredCounter } from './metrics';
export { stepTraceEnabled, traceStep } from './step-trace';

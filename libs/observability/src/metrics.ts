import { Counter, Histogram, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export { Counter, Gauge, Histogram, Registry };

/** One registry per app, with Node's default process metrics under `kiln_`. */
export function createMetricsRegistry(app: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ app });
  collectDefaultMetrics({ register: registry, prefix: 'kiln_' });
  return registry;
}

/**
 * The counter of that name in the registry, created on first use: services
 * built more than once against one registry (tests, several Nest modules)
 * share it instead of failing on a duplicate registration.
 */
export function registeredCounter(registry: Registry, config: { name: string; help: string; labelNames?: string[] }): Counter {
  return (registry.getSingleMetric(config.name) as Counter | undefined) ?? new Counter({ ...config, registers: [registry] });
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

import { Writable } from 'node:stream';
import { createLogger } from './logger';
import { Counter, createMetricsRegistry } from './metrics';

describe('createLogger', () => {
  it('writes JSON lines with context and redacts secrets', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger({ name: 'test', level: 'info', destination: sink });
    logger.child({ executionId: 'e1', tenantId: 't1' }).info({ apiKey: 'ak_secret', headers: { authorization: 'Bearer x' } }, 'ran');
    const line = JSON.parse(lines[0] as string);
    expect(line).toMatchObject({ level: 'info', app: 'test', executionId: 'e1', tenantId: 't1', msg: 'ran', apiKey: '[redacted]' });
    expect(line.headers.authorization).toBe('[redacted]');
  });
});

describe('createMetricsRegistry', () => {
  it('exposes default and custom metrics in Prometheus text', async () => {
    const registry = createMetricsRegistry('test');
    const counter = new Counter({ name: 'kiln_test_total', help: 'test', registers: [registry] });
    counter.inc(3);
    const text = await registry.metrics();
    expect(text).toContain('kiln_test_total{app="test"} 3');
    expect(text).toContain('kiln_process_cpu_user_seconds_total');
  });
});

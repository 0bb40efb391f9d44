import { postgresTransport, withDatabase } from '../src/stack';

describe('postgresTransport', () => {
  it('names the socket directory of a ?host=/dir URL', () => {
    expect(postgresTransport('postgresql://postgres@localhost/postgres?host=/var/run/postgresql')).toBe('unix socket /var/run/postgresql');
  });

  it('names host and port of a TCP URL, 5432 when none is given', () => {
    expect(postgresTransport('postgresql://postgres@127.0.0.1:5433/postgres')).toBe('tcp 127.0.0.1:5433');
    expect(postgresTransport('postgresql://postgres@db.internal/postgres')).toBe('tcp db.internal:5432');
  });

  it('keeps the socket when the harness swaps in its own database', () => {
    const url = withDatabase('postgresql://postgres@localhost/postgres?host=/var/run/postgresql', 'kiln_bench_x');
    expect(url).toBe('postgresql://postgres@localhost/kiln_bench_x?host=/var/run/postgresql');
    expect(postgresTransport(url)).toBe('unix socket /var/run/postgresql');
  });
});

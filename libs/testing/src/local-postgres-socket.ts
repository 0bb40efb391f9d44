import { existsSync } from 'node:fs';

/** Where Debian's PostgreSQL puts its Unix socket (npm run up and the bench use it when it is there). */
export const LOCAL_POSTGRES_SOCKET_DIR = '/var/run/postgresql';

export function hasLocalPostgresSocket(): boolean {
  return existsSync(`${LOCAL_POSTGRES_SOCKET_DIR}/.s.PGSQL.5432`);
}

/** The same database as `url`, reached through the local server's Unix socket instead of TCP. */
export function viaLocalPostgresSocket(url: string): string {
  const u = new URL(url);
  u.host = 'localhost';
  u.searchParams.set('host', LOCAL_POSTGRES_SOCKET_DIR);
  return u.toString();
}

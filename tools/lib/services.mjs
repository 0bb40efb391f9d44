// Talking to PostgreSQL and Redis from the entry points, with errors that
// name the fix. Imported only after dependencies are installed.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { root } from './steps.mjs';

const require = createRequire(path.join(root, 'package.json'));

/** True when something accepts TCP connections at host:port within timeoutMs. */
export function portAnswers(host, port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Where Debian's (and most distributions') PostgreSQL puts its Unix socket. */
export const LOCAL_POSTGRES_SOCKET_DIR = '/var/run/postgresql';

/**
 * The PostgreSQL URL to use when none is given: the local server's Unix
 * socket when there is one, else TCP on 127.0.0.1:5432. On one machine a
 * round trip through the socket costs about half the CPU of one through TCP
 * loopback (docs/bench.md, "PostgreSQL over its Unix socket"), and Kiln makes
 * several per run. Call it after the server is up: the socket appears with it.
 */
export function defaultPostgresUrl(database) {
  if (existsSync(path.join(LOCAL_POSTGRES_SOCKET_DIR, '.s.PGSQL.5432'))) {
    return `postgresql://postgres@localhost/${database}?host=${LOCAL_POSTGRES_SOCKET_DIR}`;
  }
  return `postgresql://postgres@127.0.0.1:5432/${database}`;
}

/** How a PostgreSQL URL reaches the server, for messages: "the Unix socket in /dir" or "host:port". */
export function postgresAddress(url) {
  const u = new URL(url);
  const socketDir = u.searchParams.get('host');
  if (socketDir?.startsWith('/')) return `the Unix socket in ${socketDir}`;
  return `${u.hostname}:${u.port || 5432}`;
}

export function withDatabase(url, database) {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export function databaseName(url) {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, '')) || 'postgres';
}

export async function pgQuery(url, sql, params = []) {
  const { Client } = require('pg');
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    return await client.query(sql, params);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function checkPostgres(url) {
  try {
    await pgQuery(withDatabase(url, 'postgres'), 'SELECT 1');
  } catch (err) {
    throw new Error(
      `PostgreSQL at ${postgresAddress(url)} did not answer (${err.message}).\n` +
        `  Start it (Debian: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start,\n` +
        `  or docker compose -f docker/compose.yaml up -d postgres), or set DATABASE_URL.`,
    );
  }
}

export async function checkRedis(url) {
  const { Redis } = require('ioredis');
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 3000, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    const u = new URL(url);
    throw new Error(
      `Redis at ${u.hostname}:${u.port || 6379} did not answer (${err.message}).\n` +
        `  Start it (redis-server --daemonize yes --port 6379, or docker compose -f docker/compose.yaml up -d redis), or set REDIS_URL.`,
    );
  } finally {
    redis.disconnect();
  }
}

/** Deletes every Redis key under a prefix (SCAN, never KEYS). */
export async function deleteRedisPrefix(url, prefix) {
  const { Redis } = require('ioredis');
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

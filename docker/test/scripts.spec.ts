import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

// The two scripts the images run: the HEALTHCHECK probe and the build-time
// lock check. Both are plain Node, so they run here for real.

const DOCKER = path.resolve(__dirname, '..');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { compareLocks } = require('../verify-lock.cjs') as { compareLocks: (a: unknown, b: unknown) => string[] };

describe('docker/healthcheck.cjs', () => {
  let server: Server;
  let port: number;
  let status = 200;
  let lastPath = '';

  beforeAll(async () => {
    server = createServer((req, res) => {
      lastPath = req.url ?? '';
      res.writeHead(status).end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** Runs the check as the image does; resolves with its exit code. */
  const check = (env: Record<string, string>, args = ['KILN_WORKER_PORT', '3001']) =>
    new Promise<number>((resolve) => {
      // Only what each case sets: not the runner's own NODE_OPTIONS or ports.
      const { NODE_OPTIONS: _o, HOST: _h, PORT: _p, KILN_WORKER_PORT: _w, KILN_NOTIFIER_PORT: _n, ...base } = process.env;
      execFile(process.execPath, [path.join(DOCKER, 'healthcheck.cjs'), ...args], { env: { ...base, ...env }, timeout: 10_000 }, (err) =>
        resolve(err ? Number((err as NodeJS.ErrnoException & { code?: number }).code ?? 1) : 0),
      );
    });

  it('exits 0 when /health/live on the configured port answers 200', async () => {
    status = 200;
    expect(await check({ KILN_WORKER_PORT: String(port) })).toBe(0);
    expect(lastPath).toBe('/health/live');
  });

  it('exits 1 when the app answers anything else', async () => {
    status = 503;
    expect(await check({ KILN_WORKER_PORT: String(port) })).toBe(1);
  });

  it('exits 1 when nothing listens on the port (here the default, the variable being unset)', async () => {
    const unused = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    expect(await check({}, ['KILN_WORKER_PORT', String(unused)])).toBe(1);
  });

  it('asks the address the app is bound to when HOST names one', async () => {
    status = 200;
    expect(await check({ KILN_WORKER_PORT: String(port), HOST: '127.0.0.1' })).toBe(0);
    expect(await check({ KILN_WORKER_PORT: String(port), HOST: '0.0.0.0' })).toBe(0);
  });
});

describe('docker/verify-lock.cjs', () => {
  const lock = (packages: Record<string, object>) => ({ lockfileVersion: 3, packages: { '': { name: 'kiln' }, ...packages } });
  const a = { version: '1.0.0', integrity: 'sha512-a' };

  it('accepts the committed package-lock.json against itself', () => {
    const committed = JSON.parse(readFileSync(path.join(DOCKER, '..', 'package-lock.json'), 'utf8'));
    expect(compareLocks(committed, structuredClone(committed))).toEqual([]);
  });

  it('accepts optional per-platform packages that npm install adds', () => {
    expect(compareLocks(lock({ 'node_modules/a': a }), lock({ 'node_modules/a': a, 'node_modules/@swc/core-darwin-arm64': { version: '1.0.0', optional: true } }))).toEqual([]);
  });

  it('rejects a changed version or integrity, a removed package and a new required one', () => {
    expect(compareLocks(lock({ 'node_modules/a': a }), lock({ 'node_modules/a': { ...a, version: '1.0.1' } }))).toEqual(['node_modules/a: 1.0.0 became 1.0.1']);
    expect(compareLocks(lock({ 'node_modules/a': a }), lock({ 'node_modules/a': { ...a, integrity: 'sha512-b' } }))).toEqual(['node_modules/a: integrity changed']);
    expect(compareLocks(lock({ 'node_modules/a': a }), lock({}))).toEqual(['node_modules/a: removed']);
    expect(compareLocks(lock({}), lock({ 'node_modules/b': a }))).toEqual(['node_modules/b: added, and not optional']);
  });
});

import { readdirSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';

/** URL prefix of every file the console loads: its own CSS and JS, htmx, and Monaco (`vs/…`). No CDN. */
export const ASSETS_PREFIX = '/console/assets/';
export const MONACO_BASE = `${ASSETS_PREFIX}vs`;

const OWN_DIR = path.join(__dirname, 'assets');
const HTMX_DIR = path.join(path.dirname(require.resolve('htmx.org/package.json')), 'dist');
// Monaco's AMD build (min/vs/…), loaded with its own loader.js. The package
// exports no package.json; its CommonJS entry is min/vs/index.js.
const MONACO_DIR = path.dirname(path.dirname(require.resolve('monaco-editor')));

/**
 * Only these: the console's two files, htmx's minified build, and Monaco's
 * AMD tree of .js/.css (its chunks have content-hashed names, loaded on
 * demand, so they are matched by shape). Nothing else under those
 * directories (sources, maps, type declarations, package.json) is served.
 */
export function consoleAssetAllowed(pathName: string): boolean {
  if (pathName.includes('..') || pathName.includes('\\')) return false;
  return /^\/(console\.css|console\.js|htmx\.min\.js)$/.test(pathName) || /^\/vs\/[A-Za-z0-9_./-]+\.(js|css)$/.test(pathName);
}

export interface MonacoWorkers {
  /** The plain editor worker (diffing, links, word ranges). */
  editor: string;
  /** The TypeScript/JavaScript language worker (diagnostics, completion). */
  typescript: string;
}

let workers: MonacoWorkers | null | undefined;

/**
 * Monaco's worker bundles carry content hashes in their names; the editor
 * pages hand their same-origin URLs to console.js, which creates the workers
 * from them (CSP worker-src 'self', no blob: bootstrap). null when Monaco is
 * not installed as expected: the pages then keep the plain text area.
 */
export function monacoWorkers(): MonacoWorkers | null {
  if (workers !== undefined) return workers;
  try {
    const files = readdirSync(path.join(MONACO_DIR, 'vs', 'assets'));
    const editor = files.find((f) => /^editor\.worker-[A-Za-z0-9_-]+\.js$/.test(f));
    const typescript = files.find((f) => /^ts\.worker-[A-Za-z0-9_-]+\.js$/.test(f));
    workers = editor && typescript ? { editor: `${MONACO_BASE}/assets/${editor}`, typescript: `${MONACO_BASE}/assets/${typescript}` } : null;
  } catch {
    workers = null;
  }
  return workers;
}

/** Registers the console's static files on the gateway (see gateway-app.ts). */
export async function registerConsoleAssets(app: NestFastifyApplication): Promise<void> {
  await app.register(fastifyStatic, {
    root: [OWN_DIR, HTMX_DIR, MONACO_DIR],
    prefix: ASSETS_PREFIX,
    decorateReply: false,
    allowedPath: (pathName) => consoleAssetAllowed(pathName),
    index: false,
    list: false,
    dotfiles: 'deny',
    maxAge: '1h',
    setHeaders: (reply) => {
      void reply.header('X-Content-Type-Options', 'nosniff').header('Cross-Origin-Resource-Policy', 'same-origin');
    },
  });
}

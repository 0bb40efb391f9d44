// Small helpers shared by the project's entry points (up, test, build, lint).
// Only Node built-ins here: these run before dependencies are installed.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;

export function say(message) {
  process.stdout.write(`kiln [${elapsed()}] ${message}\n`);
}

export function fail(message) {
  process.stderr.write(`\nkiln: ${message}\n`);
  process.exit(1);
}

/** Runs a command, streaming its output; resolves with the exit code. */
export function run(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, stdio: 'inherit', ...options, env: { ...process.env, ...options.env } });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

export async function mustRun(label, command, args, options = {}) {
  const t0 = Date.now();
  const code = await run(command, args, options);
  if (code !== 0) fail(`${label} failed (exit ${code})`);
  say(`${label} done in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/**
 * Installs dependencies when node_modules is missing or was installed from a
 * different package-lock.json (or under another Node major: isolated-vm is
 * a native addon built for one ABI).
 *
 * `npm install` rather than `npm ci`: the lock pins every version either way,
 * but `npm ci` refuses a lock whose optional per-platform binaries (SWC's
 * macOS builds, say) a registry mirror does not carry, as air-gapped mirrors
 * often do not.
 */
export async function ensureDependencies() {
  const lockFile = path.join(root, 'package-lock.json');
  const stampFor = () => createHash('sha256').update(readFileSync(lockFile)).update(process.versions.modules).digest('hex');
  const stamp = path.join(root, 'node_modules', '.kiln-install-stamp');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === stampFor()) return;
  say('installing dependencies (npm install from package-lock.json; about a minute the first time)');
  await mustRun('npm install', npm, ['install', '--no-audit', '--no-fund', '--loglevel=error'], {
    env: { PRISMA_SKIP_POSTINSTALL_GENERATE: '1', CHECKPOINT_DISABLE: '1' },
  });
  writeFileSync(stamp, stampFor());
}

const prismaEnv = () => ({
  PRISMA_SCHEMA_ENGINE_BINARY: path.join(root, 'tools', 'prisma', 'schema-engine.mjs'),
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
  CHECKPOINT_DISABLE: '1',
});

export async function generatePrismaClient() {
  await mustRun('prisma generate', process.execPath, [path.join(root, 'node_modules', 'prisma', 'build', 'index.js'), 'generate'], {
    env: prismaEnv(),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** SWC compiles apps/, libs/ and the benchmark harness (bench/src) into dist/ (tsc type-checks separately). */
export async function compile() {
  // Compiled over the previous build rather than after deleting it, so a
  // running test or app never finds dist/ missing halfway.
  await mustRun('compile (swc)', process.execPath, [path.join(root, 'node_modules', '@swc', 'cli', 'bin', 'swc.js'), 'apps', 'libs', 'bench/src', '-d', 'dist', '--copy-files', '--quiet', '--ignore', '**/*.spec.ts,**/*.int-spec.ts,**/*.e2e-spec.ts,**/test/**'], {});
}

export async function typecheck() {
  await mustRun('type-check (tsc)', process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json', '--noEmit']);
}

export async function lint() {
  const env = { NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_SKIP_NX_CACHE: 'true' };
  // The module-boundary rule reads Nx's project graph; compute it first.
  await mustRun('project graph (nx)', process.execPath, [path.join(root, 'node_modules', 'nx', 'dist', 'bin', 'nx.js'), 'show', 'projects'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  await mustRun('lint (eslint, module boundaries)', process.execPath, [path.join(root, 'node_modules', 'eslint', 'bin', 'eslint.js'), 'apps', 'libs', 'tools', 'bench', 'test', '--max-warnings=0', '--no-error-on-unmatched-pattern'], { env });
}

export { prismaEnv };

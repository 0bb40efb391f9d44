import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { envSchema } from '../../libs/config/src/env-schema';
import { imageConfig, parseDockerfile, stage, type Instruction } from './lib/dockerfile';

// docker/Dockerfile, read rather than built (no container engine here):
// stage wiring, and for every runtime target the settings SPEC §11 asks for
// (non-root, an init as PID 1 so SIGTERM reaches Node, --no-node-snapshot
// for isolated-vm, a health check, production dependencies only).

const REPO = path.resolve(__dirname, '..', '..');
const read = (p: string) => readFileSync(path.join(REPO, p), 'utf8');
const dockerfile = parseDockerfile(read('docker/Dockerfile'));
const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
const defaults = envSchema.parse({ KILN_ENCRYPTION_KEY: '0'.repeat(64) });

/** The long-running targets and the variable holding the port each listens on. */
const APPS = {
  gateway: 'PORT',
  worker: 'KILN_WORKER_PORT',
  notifier: 'KILN_NOTIFIER_PORT',
  'all-in-one': 'PORT',
} as const;
const TARGETS = [...Object.keys(APPS), 'migrate'];

const stageIndex = (name: string) => dockerfile.stages.findIndex((s) => s.name === name);
const copies = (instructions: Instruction[]) => instructions.filter((i) => i.keyword === 'COPY');
/** Shell-form words of a COPY: sources…, destination. */
const copyWords = (i: Instruction) => i.exec ?? i.args.trim().split(/\s+/);
const runs = (instructions: Instruction[]) => instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);

describe('Dockerfile: stages', () => {
  it('names each stage once, and every FROM and COPY --from names an earlier stage or a tagged image', () => {
    const names = dockerfile.stages.map((s) => s.name).filter(Boolean);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
    dockerfile.stages.forEach((s, i) => {
      const ref = stageIndex(s.from);
      if (ref >= 0) expect({ stage: s.name, from: s.from, earlier: ref < i }).toEqual({ stage: s.name, from: s.from, earlier: true });
      // Not a stage, so Docker would pull it: it must be a real, tagged image
      // (a misspelt stage name would otherwise silently pull "deps" from Hub).
      else expect({ stage: s.name, from: s.from }).toEqual({ stage: s.name, from: expect.stringMatching(/^[a-z0-9./-]+:[\w.-]+(@sha256:[0-9a-f]{64})?$/) });
      for (const c of copies(s.instructions).filter((x) => x.flags.from)) {
        expect({ stage: s.name, line: c.line, from: c.flags.from, earlier: stageIndex(c.flags.from!) >= 0 && stageIndex(c.flags.from!) < i }).toEqual({
          stage: s.name,
          line: c.line,
          from: c.flags.from,
          earlier: true,
        });
      }
    });
  });

  it('builds everything on the official node:24-bookworm-slim image', () => {
    const external = dockerfile.stages.filter((s) => stageIndex(s.from) < 0).map((s) => s.from);
    expect([...new Set(external)]).toEqual(['node:24-bookworm-slim']);
  });

  it('has the five targets', () => {
    for (const t of TARGETS) expect(() => stage(dockerfile, t)).not.toThrow();
  });

  it('installs what package-lock.json pins: npm ci, or npm install checked against the lock', () => {
    const deps = stage(dockerfile, 'deps');
    expect(copies(deps.instructions).some((c) => copyWords(c).includes('package-lock.json'))).toBe(true);
    const install = runs(deps.instructions).find((r) => /\bnpm (ci|install)\b/.test(r))!;
    expect(install).toBeDefined();
    if (!/\bnpm ci\b/.test(install)) expect(install).toMatch(/npm install\b.*&&\s*node docker\/verify-lock\.cjs \S+ package-lock\.json/s);
  });

  it('builds with the project’s own steps (prisma generate, then SWC into dist/)', () => {
    const [build] = runs(stage(dockerfile, 'build').instructions);
    expect(build).toContain("from './tools/lib/steps.mjs'");
    const steps = read('tools/lib/steps.mjs');
    for (const fn of ['generatePrismaClient', 'compile']) {
      expect(build).toContain(`await ${fn}()`);
      expect(steps).toMatch(new RegExp(`export async function ${fn}\\(`));
    }
  });

  it('copies only files that exist and that .dockerignore lets into the context', () => {
    const ignored = dockerignore();
    for (const s of dockerfile.stages) {
      for (const c of copies(s.instructions).filter((x) => !x.flags.from)) {
        for (const source of copyWords(c).slice(0, -1)) {
          expect({ line: c.line, source, exists: existsSync(path.join(REPO, source)) }).toEqual({ line: c.line, source, exists: true });
          expect({ line: c.line, source, ignored: ignored(source) }).toEqual({ line: c.line, source, ignored: false });
        }
      }
    }
  });

  it('.dockerignore keeps host dependencies, builds, caches, git and secrets out', () => {
    const ignored = dockerignore();
    for (const p of ['node_modules', 'libs/api/node_modules', 'dist', '.cache', '.git', 'coverage', '.env', 'docker/.env', 'libs/db/src/generated']) {
      expect({ p, ignored: ignored(p) }).toEqual({ p, ignored: true });
    }
    expect(ignored('docker/.env.example')).toBe(false);
  });
});

describe.each(TARGETS)('Dockerfile: target %s', (target) => {
  const config = imageConfig(dockerfile, target);
  const isApp = target in APPS;

  it('runs as a non-root user, by number (so Kubernetes can verify runAsNonRoot)', () => {
    expect(config.user).toMatch(/^\d+(:\d+)?$/);
    expect(Number(config.user!.split(':')[0])).toBeGreaterThan(0);
  });

  it('runs tini as PID 1, forwarding signals to Node only (not -g: sandbox children drain, not die)', () => {
    expect(config.entrypoint).toEqual(['/usr/bin/tini', '--']);
    expect(runs(config.instructions).some((r) => /apt-get install\b[^&]*\btini\b/.test(r))).toBe(true);
  });

  it('is production Node with --no-node-snapshot (isolated-vm cannot run on the startup snapshot)', () => {
    expect(config.env.NODE_ENV).toBe('production');
    expect(config.env.NODE_OPTIONS?.split(/\s+/)).toContain('--no-node-snapshot');
    expect(config.cmd?.slice(0, 2)).toEqual(['node', '--no-node-snapshot']);
  });

  it('starts a file the image contains', () => {
    const entry = config.cmd![2]!;
    if (isApp) {
      expect(entry).toBe(`dist/apps/${target}/src/main.js`);
      expect(existsSync(path.join(REPO, 'apps', target, 'src', 'main.ts'))).toBe(true);
      expect(config.instructions.some((i) => i.keyword === 'COPY' && i.flags.from === 'build' && copyWords(i)[0] === '/app/dist')).toBe(true);
    } else {
      expect(entry).toBe('tools/prisma/migrate.mjs');
      expect(existsSync(path.join(REPO, entry))).toBe(true);
      const copied = copies(config.instructions).filter((c) => !c.flags.from).flatMap((c) => copyWords(c).slice(0, -1));
      expect(copied).toEqual(expect.arrayContaining(['prisma.config.ts', 'prisma', 'tools/prisma']));
    }
  });

  it(isApp ? 'checks /health/live on the port its configuration uses, and exposes that port' : 'has no health check (it runs once and exits)', () => {
    const hc = config.healthcheck!;
    expect(hc).toBeDefined();
    if (!isApp) {
      expect(hc.args.trim()).toBe('NONE');
      return;
    }
    const variable = APPS[target as keyof typeof APPS];
    const port = String(defaults[variable]);
    expect(hc.exec).toEqual(['node', 'docker/healthcheck.cjs', variable, port]);
    expect(read('docker/healthcheck.cjs')).toContain("path: '/health/live'");
    expect(copies(config.instructions).some((c) => copyWords(c)[0] === 'docker/healthcheck.cjs')).toBe(true);
    expect(config.expose).toEqual([port]);
  });

  it('ships production dependencies only: node_modules from a pruned stage', () => {
    const [nodeModules, ...more] = copies(config.instructions).filter((c) => copyWords(c)[0]?.endsWith('node_modules'));
    expect(more).toEqual([]);
    const from = nodeModules!.flags.from!;
    expect(['deps', 'build']).not.toContain(from);
    expect(runs(stage(dockerfile, from).instructions).join('\n')).toMatch(/npm prune --omit=dev\b/);
  });
});

describe('Dockerfile: the migrate image', () => {
  // tools/prisma/migrate.mjs runs the Prisma CLI with the Wasm schema-engine
  // stand-in; those packages are devDependencies, so migrate-deps promotes
  // them before pruning. The list must match what the scripts import.
  const promoted = (() => {
    const run = runs(stage(dockerfile, 'migrate-deps').instructions).join('\n');
    const m = /for p in ([^;]+); do/.exec(run);
    return m ? m[1]!.trim().split(/\s+/).sort() : [];
  })();

  it('promotes exactly the devDependencies tools/prisma and prisma.config.ts need', () => {
    const imported = new Set(['prisma']); // the CLI itself, run from node_modules/prisma
    for (const f of ['tools/prisma/migrate.mjs', 'tools/prisma/schema-engine.mjs', 'prisma.config.ts']) {
      for (const m of read(f).matchAll(/^import\s[^'"]*['"]([^'"]+)['"]/gm)) {
        const spec = m[1]!;
        if (spec.startsWith('node:') || spec.startsWith('.')) continue;
        imported.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
      }
    }
    for (const name of imported) {
      expect({ name, declared: name in pkg.dependencies || name in pkg.devDependencies }).toEqual({ name, declared: true });
    }
    expect(promoted).toEqual([...imported].filter((n) => n in pkg.devDependencies).sort());
  });
});

/** A reader for the root .dockerignore (the subset of syntax it uses). */
function dockerignore(): (p: string) => boolean {
  const patterns = read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  expect(patterns.filter((p) => p.startsWith('!'))).toEqual([]); // exceptions would need a fuller reader
  const regexes = patterns.map((p) => {
    const body = p
      .replace(/^\/+/, '')
      .split('/')
      .map((seg) => (seg === '**' ? '.*' : seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '[^/]*').replaceAll('?', '[^/]')))
      .join('/')
      .replaceAll('.*/', '(?:.*/)?');
    return new RegExp(`^${body}$`);
  });
  // A path is excluded when it, or a directory above it, matches.
  return (p) => {
    const parts = p.split('/');
    return parts.some((_, i) => regexes.some((re) => re.test(parts.slice(0, i + 1).join('/'))));
  };
}

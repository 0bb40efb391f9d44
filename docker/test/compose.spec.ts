import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import { parseDocument } from 'yaml';
import { envSchema } from '../../libs/config/src/env-schema';
import { parseDockerfile } from './lib/dockerfile';

// docker/compose.yaml, checked without a container engine: against the
// Compose Specification's JSON schema (vendored in ./schemas, see README
// there), after the same ${…} interpolation Compose applies, and for what
// Kiln needs from it. Where the `docker compose` plugin exists,
// `docker compose config` must accept the file too.

type Any = any;

const DOCKER = path.resolve(__dirname, '..');
const REPO = path.resolve(DOCKER, '..');
const COMPOSE_FILE = path.join(DOCKER, 'compose.yaml');
const composeText = readFileSync(COMPOSE_FILE, 'utf8');

const KILN_ENV = new Set(Object.keys(envSchema.shape));
/** Variables of .env.example that only compose.yaml itself reads. */
const COMPOSE_ONLY = ['POSTGRES_PASSWORD', 'GATEWAY_PUBLISHED_PORT', 'IMAGE_TAG'];
const APPS = ['gateway', 'worker', 'notifier'];

const envExample = parseEnvFile(readFileSync(path.join(DOCKER, '.env.example'), 'utf8'));
/** .env.example with its blanks filled in as an operator would. */
const filledEnv = {
  ...envExample,
  KILN_ENCRYPTION_KEY: 'ab'.repeat(32),
  KILN_ADMIN_KEY: `ak_${'cd'.repeat(32)}`,
  POSTGRES_PASSWORD: 'test-password',
};
const compose = loadCompose(filledEnv);
const services: Record<string, Any> = compose.services;

describe('compose.yaml: schema and variables', () => {
  it('matches the Compose Specification schema', () => {
    const schema = JSON.parse(readFileSync(path.join(__dirname, 'schemas', 'compose-spec.json'), 'utf8'));
    // Ajv knows draft-07 as http://json-schema.org/draft-07/schema#; the
    // spec names it with https. The vocabulary is the same.
    delete schema.$schema;
    const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);
    const ok = validate(compose);
    expect(ok ? [] : validate.errors!.map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`)).toEqual([]);
  });

  it('the schema check can fail (a misspelt key, a wrong depends_on condition)', () => {
    const schema = JSON.parse(readFileSync(path.join(__dirname, 'schemas', 'compose-spec.json'), 'utf8'));
    delete schema.$schema;
    const validate = new Ajv({ strict: false }).compile(schema);
    const broken = structuredClone(compose);
    broken.services.worker.healthcheck.intervall = '5s';
    expect(validate(broken)).toBe(false);
    const broken2 = structuredClone(compose);
    broken2.services.gateway.depends_on.migrate.condition = 'service_finished';
    expect(validate(broken2)).toBe(false);
  });

  it('documents in .env.example every variable it interpolates, and nothing else', () => {
    const used = new Set([...composeText.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!));
    expect([...used].filter((v) => !(v in envExample))).toEqual([]);
    for (const name of Object.keys(envExample)) {
      expect({ name, known: KILN_ENV.has(name) || (COMPOSE_ONLY.includes(name) && used.has(name)) }).toEqual({ name, known: true });
    }
  });

  it('refuses to start without the secrets, naming docker/.env', () => {
    expect(() => loadCompose(envExample)).toThrow(/KILN_ENCRYPTION_KEY in docker\/\.env|POSTGRES_PASSWORD in docker\/\.env/);
    expect(() => loadCompose({ ...filledEnv, KILN_ENCRYPTION_KEY: '' })).toThrow('set KILN_ENCRYPTION_KEY in docker/.env');
  });

  it('gives the apps a valid Kiln configuration pointing at its own Redis and PostgreSQL', () => {
    for (const name of APPS) {
      const env = { ...filledEnv, ...services[name].environment };
      const kiln = Object.fromEntries(Object.entries(env).filter(([k]) => KILN_ENV.has(k))) as Record<string, string>;
      expect(() => envSchema.parse(Object.fromEntries(Object.entries(kiln).filter(([, v]) => v !== '')))).not.toThrow();
      expect(new URL(env.DATABASE_URL).hostname).toBe('postgres');
      expect(new URL(env.REDIS_URL).hostname).toBe('redis');
      expect(Object.keys(services[name].environment).filter((k) => !KILN_ENV.has(k))).toEqual([]);
    }
    expect(Object.keys(services.migrate.environment)).toEqual(['DATABASE_URL']);
  });
});

describe('compose.yaml: services', () => {
  it('runs Redis, PostgreSQL, the migration and the three apps', () => {
    expect(Object.keys(services).sort()).toEqual(['gateway', 'migrate', 'notifier', 'postgres', 'redis', 'worker']);
  });

  it('runs Redis 7 with noeviction, as BullMQ requires, and an append-only file', () => {
    expect(services.redis.image).toMatch(/^redis:7(\.|-|$)/);
    const command: string[] = services.redis.command;
    expect(command[command.indexOf('--maxmemory-policy') + 1]).toBe('noeviction');
    expect(command[command.indexOf('--appendonly') + 1]).toBe('yes');
  });

  it('runs PostgreSQL 16', () => {
    expect(services.postgres.image).toMatch(/^postgres:16(\.|-|$)/);
  });

  it('health-checks every long-running service; the apps on /health/live of their own port', () => {
    for (const name of ['redis', 'postgres', ...APPS]) expect({ name, test: services[name].healthcheck?.test?.[0] }).toEqual({ name, test: expect.stringMatching(/^CMD(-SHELL)?$/) });
    const ports: Record<string, [string, number]> = {
      gateway: ['PORT', 3000],
      worker: ['KILN_WORKER_PORT', 3001],
      notifier: ['KILN_NOTIFIER_PORT', 3002],
    };
    const defaults = envSchema.parse({ KILN_ENCRYPTION_KEY: '0'.repeat(64) });
    for (const [name, [variable, port]] of Object.entries(ports)) {
      expect(defaults[variable as 'PORT']).toBe(port);
      expect(services[name].healthcheck.test).toEqual(['CMD', 'node', 'docker/healthcheck.cjs', variable, String(port)]);
    }
  });

  it('starts the apps only after the migration succeeded and Redis and PostgreSQL are healthy', () => {
    for (const name of APPS) {
      expect({ name, depends_on: services[name].depends_on }).toEqual({
        name,
        depends_on: {
          migrate: expect.objectContaining({ condition: 'service_completed_successfully' }),
          postgres: expect.objectContaining({ condition: 'service_healthy' }),
          redis: expect.objectContaining({ condition: 'service_healthy' }),
        },
      });
    }
    expect(services.migrate.depends_on.postgres.condition).toBe('service_healthy');
    expect(services.migrate.restart).toBe('no');
  });

  it('gives the apps longer than KILN_SHUTDOWN_GRACE_MS to stop before SIGKILL', () => {
    for (const name of APPS) {
      const env = { ...filledEnv, ...services[name].environment } as Record<string, string>;
      const grace = envSchema.parse({ KILN_ENCRYPTION_KEY: '0'.repeat(64), ...(env.KILN_SHUTDOWN_GRACE_MS ? { KILN_SHUTDOWN_GRACE_MS: env.KILN_SHUTDOWN_GRACE_MS } : {}) }).KILN_SHUTDOWN_GRACE_MS;
      expect({ name, enough: duration(services[name].stop_grace_period) > grace }).toEqual({ name, enough: true });
    }
  });

  it('lets the worker scale (--scale worker=N): no container name, no published port', () => {
    expect(services.worker.container_name).toBeUndefined();
    expect(services.worker.ports).toBeUndefined();
    expect(services.gateway.ports).toEqual(['3000:3000']);
  });

  it('builds each image from the repo root with its Dockerfile target', () => {
    const targets = parseDockerfile(readFileSync(path.join(REPO, 'docker', 'Dockerfile'), 'utf8')).stages.map((s) => s.name);
    for (const name of ['migrate', ...APPS]) {
      const build = services[name].build;
      expect(path.resolve(DOCKER, build.context)).toBe(REPO);
      expect(path.resolve(REPO, build.dockerfile)).toBe(path.join(DOCKER, 'Dockerfile'));
      expect(targets).toContain(build.target);
      expect(build.target).toBe(name);
      expect(services[name].image).toBe(`kiln-${name}:local`);
    }
  });
});

// The `docker compose` CLI plugin reads the file exactly as `up` would, and
// needs no daemon for `config`. It is not installed on every machine.
const composePlugin = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' }).status === 0;
(composePlugin ? it : it.skip)('docker compose config accepts the file', () => {
  const r = spawnSync('docker', ['compose', '-f', COMPOSE_FILE, 'config', '--quiet'], { encoding: 'utf8', env: { ...process.env, ...filledEnv } });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
});

/** Parses compose.yaml as Compose does: YAML 1.2 with merge keys, then ${…}. */
function loadCompose(env: Record<string, string>): Any {
  const doc = parseDocument(composeText, { merge: true, uniqueKeys: true });
  if (doc.errors.length) throw new Error(doc.errors[0]!.message);
  const interpolate = (v: unknown): unknown =>
    typeof v === 'string'
      ? interpolateString(v, env)
      : Array.isArray(v)
        ? v.map(interpolate)
        : v && typeof v === 'object'
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, interpolate(x)]))
          : v;
  return interpolate(doc.toJS());
}

/** Compose's interpolation: ${V}, ${V:-default}, ${V-default}, ${V:?error}, ${V?error}, $$. */
function interpolateString(s: string, env: Record<string, string>): string {
  return s.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}/g, (all, name: string | undefined, colon: string, op: string, arg: string) => {
    if (all === '$$') return '$';
    const value = env[name!];
    const missing = value === undefined || (colon === ':' && value === '');
    if (!op) return value ?? '';
    if (op === '-') return missing ? arg : value;
    if (missing) throw new Error(`required variable ${name} is missing a value: ${arg}`);
    return value;
  });
}

/** A .env file: KEY=value lines; comments and blank lines skipped. */
function parseEnvFile(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => {
        const i = l.indexOf('=');
        return [l.slice(0, i), l.slice(i + 1)];
      }),
  );
}

/** A Compose duration ("35s", "1m30s", "500ms") in milliseconds. */
function duration(d: string): number {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 1e-3 };
  const parts = [...String(d).matchAll(/(\d+(?:\.\d+)?)(ms|us|h|m|s)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== d) throw new Error(`not a duration: ${d}`);
  return parts.reduce((ms, p) => ms + Number(p[1]) * units[p[2]!]!, 0);
}

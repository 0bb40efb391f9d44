import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { round, say, sleep, until } from './log';
import type { BenchStack } from './stack';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileSummary {
  app: string;
  file: string;
  sampledMs: number;
  /** Self time by where the code lives: a package, a Kiln lib, node internals, GC, idle. */
  byArea: { area: string; pct: number }[];
  topFunctions: { fn: string; where: string; pct: number }[];
}

function areaOf(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1] as string;
  const lib = /dist\/(libs|apps)\/([^/]+)/.exec(url);
  if (lib) return `kiln:${lib[2]}`;
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  return url.split('/').slice(-2).join('/');
}

/** Self time per function and per area, from a .cpuprofile. */
export function summarizeProfile(file: string, app: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  if (profile.samples && profile.timeDeltas) {
    for (let i = 0; i < profile.samples.length; i++) {
      const id = profile.samples[i] as number;
      selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0));
    }
  } else {
    for (const n of profile.nodes) selfUs.set(n.id, n.hitCount ?? 0);
  }
  let total = 0;
  for (const v of selfUs.values()) total += v;
  const areas = new Map<string, number>();
  const fns = new Map<string, { fn: string; where: string; us: number }>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const area = areaOf(url, functionName || '(anonymous)');
    areas.set(area, (areas.get(area) ?? 0) + us);
    const where = url ? `${url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${lineNumber + 1}` : '';
    const key = `${functionName}@${where}`;
    const entry = fns.get(key) ?? { fn: functionName || '(anonymous)', where, us: 0 };
    entry.us += us;
    fns.set(key, entry);
  }
  const pct = (us: number) => round((100 * us) / Math.max(1, total), 1);
  return {
    app,
    file,
    sampledMs: round(total / 1000, 0),
    byArea: [...areas.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([area, us]) => ({ area, pct: pct(us) })),
    topFunctions: [...fns.values()].sort((a, b) => b.us - a.us).slice(0, 20).map((f) => ({ fn: f.fn, where: f.where, pct: pct(f.us) })),
  };
}

/**
 * CPU profiles of the Kiln apps around one scenario (--profile). The apps
 * carry profiler-preload.js; SIGWINCH toggles their profiler.
 */
export class Profiler {
  readonly summaries: ProfileSummary[] = [];

  constructor(
    private readonly stack: BenchStack,
    readonly scenario: string,
    readonly dir: string,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  wants(label: string): boolean {
    return label === this.scenario || label.startsWith(`${this.scenario}-`);
  }

  private signal(): void {
    for (const app of this.stack.apps) if (!app.hasExited) app.child.kill('SIGWINCH');
  }

  async start(label: string): Promise<void> {
    say(`  profiling ${label}: CPU profiler on in ${this.stack.apps.map((a) => a.label).join(', ')}`);
    this.signal();
    await sleep(200);
  }

  async stop(label: string): Promise<void> {
    const before = new Set(readdirSync(this.dir));
    const expected = this.stack.apps.filter((a) => !a.hasExited).length;
    this.signal();
    const fresh = () => readdirSync(this.dir).filter((f) => f.endsWith('.cpuprofile') && !before.has(f));
    await until(() => Promise.resolve(fresh().length >= expected), 15_000, 200);
    for (const file of fresh()) {
      const app = file.split('.')[0] as string;
      const target = path.join(this.dir, `${label}-${app}.cpuprofile`);
      renameSync(path.join(this.dir, file), target);
      if (existsSync(target)) this.summaries.push(summarizeProfile(target, app));
    }
    say(`  profiles written to ${this.dir}`);
  }
}

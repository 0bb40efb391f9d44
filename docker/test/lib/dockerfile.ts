// A small Dockerfile reader: enough of the syntax for the checks in
// dockerfile.spec.ts (stages, flags, exec/shell forms, ENV pairs, the
// image configuration each stage inherits), and strict about what it does
// not understand, so a construct it cannot read fails loudly.

export interface Instruction {
  keyword: string;
  /** Text after the keyword and its --flags. */
  args: string;
  flags: Record<string, string>;
  /** The JSON (exec) form, when the arguments are one. */
  exec?: string[];
  line: number;
}

export interface Stage {
  name: string | undefined;
  /** The image or earlier stage it starts from, ARGs substituted. */
  from: string;
  instructions: Instruction[];
  line: number;
}

export interface Dockerfile {
  args: Record<string, string | undefined>;
  stages: Stage[];
}

/** The image configuration a stage ends up with, inherited along FROM. */
export interface ImageConfig {
  /** The external image at the root of the chain. */
  baseImage: string;
  /** Stage names from the target back to the root. */
  chain: string[];
  env: Record<string, string>;
  user: string | undefined;
  entrypoint: string[] | undefined;
  cmd: string[] | undefined;
  healthcheck: Instruction | undefined;
  expose: string[];
  instructions: Instruction[];
}

const FLAGGED = new Set(['FROM', 'COPY', 'ADD', 'RUN', 'HEALTHCHECK']);
const KNOWN = new Set([
  'FROM', 'RUN', 'CMD', 'LABEL', 'EXPOSE', 'ENV', 'ADD', 'COPY', 'ENTRYPOINT', 'VOLUME',
  'USER', 'WORKDIR', 'ARG', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL',
]);

export function parseDockerfile(text: string): Dockerfile {
  const logical: { text: string; line: number }[] = [];
  let buffer = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const trimmed = raw.trim();
    // Comment lines are dropped, also inside a continued instruction.
    // Blank lines too, which Docker skips even inside a continuation.
    if (trimmed.startsWith('#') || !trimmed) return;
    if (!buffer) start = i + 1;
    if (/\\\s*$/.test(raw)) {
      buffer += `${raw.replace(/\\\s*$/, '')} `;
      return;
    }
    buffer += raw;
    logical.push({ text: buffer.trim(), line: start });
    buffer = '';
  });
  if (buffer.trim()) throw new Error(`line ${start}: continuation at end of file`);

  const args: Record<string, string | undefined> = {};
  const stages: Stage[] = [];
  for (const { text: l, line } of logical) {
    const m = /^(\S+)\s*(.*)$/s.exec(l)!;
    const keyword = m[1]!.toUpperCase();
    if (!KNOWN.has(keyword)) throw new Error(`line ${line}: unknown instruction ${m[1]}`);
    let rest = m[2]!;
    if (/<<-?\s*\S/.test(rest) && keyword === 'RUN') throw new Error(`line ${line}: heredocs are not supported by this reader`);
    const flags: Record<string, string> = {};
    if (FLAGGED.has(keyword)) {
      let f: RegExpExecArray | null;
      while ((f = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(rest))) {
        flags[f[1]!] = f[2] ?? 'true';
        rest = rest.slice(f[0].length);
      }
    }
    const instruction: Instruction = { keyword, args: rest, flags, line, exec: execForm(keyword === 'HEALTHCHECK' ? rest.replace(/^CMD\s+/, '') : rest) };

    if (keyword === 'ARG' && stages.length === 0) {
      const [name, value] = splitOnce(rest, '=');
      args[name] = value === undefined ? undefined : unquote(value);
      continue;
    }
    if (keyword === 'FROM') {
      const fm = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest.trim());
      if (!fm) throw new Error(`line ${line}: cannot read FROM ${rest}`);
      stages.push({ from: substitute(fm[1]!, args), name: fm[2], instructions: [], line });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`line ${line}: ${keyword} before the first FROM`);
    stage.instructions.push(instruction);
  }
  return { args, stages };
}

/** Follows FROM back to the external image, applying each stage's settings. */
export function imageConfig(file: Dockerfile, target: string): ImageConfig {
  const chain: Stage[] = [];
  for (let s: Stage | undefined = stage(file, target); s; ) {
    chain.push(s);
    const child: Stage = s;
    // Only an earlier stage can be a parent; anything else is an image.
    s = file.stages.find((x) => x.name === child.from && file.stages.indexOf(x) < file.stages.indexOf(child));
  }
  const root = chain.at(-1)!;
  const config: ImageConfig = {
    baseImage: root.from,
    chain: chain.map((s) => s.name ?? '?'),
    env: {},
    user: undefined,
    entrypoint: undefined,
    cmd: undefined,
    healthcheck: undefined,
    expose: [],
    instructions: [],
  };
  for (const s of [...chain].reverse()) {
    for (const i of s.instructions) {
      config.instructions.push(i);
      if (i.keyword === 'ENV') Object.assign(config.env, envPairs(i.args));
      if (i.keyword === 'USER') config.user = i.args.trim();
      if (i.keyword === 'ENTRYPOINT') {
        config.entrypoint = i.exec ?? ['/bin/sh', '-c', i.args];
        config.cmd = undefined; // Docker resets an inherited CMD when ENTRYPOINT is set.
      }
      if (i.keyword === 'CMD') config.cmd = i.exec ?? ['/bin/sh', '-c', i.args];
      if (i.keyword === 'HEALTHCHECK') config.healthcheck = i;
      if (i.keyword === 'EXPOSE') config.expose.push(...i.args.split(/\s+/));
    }
  }
  return config;
}

export function stage(file: Dockerfile, name: string): Stage {
  const s = file.stages.find((x) => x.name === name);
  if (!s) throw new Error(`no stage named ${name}`);
  return s;
}

/** `KEY=value KEY2="two words"` (the one-pair `KEY value` form too). */
export function envPairs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!text.includes('=')) {
    const [k, v] = splitOnce(text.trim(), ' ');
    out[k] = (v ?? '').trim();
    return out;
  }
  const re = /([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g;
  for (let m; (m = re.exec(text)); ) out[m[1]!] = unquote(m[2]!);
  return out;
}

function execForm(text: string): string[] | undefined {
  const t = text.trim();
  if (!t.startsWith('[')) return undefined;
  const parsed: unknown = JSON.parse(t);
  if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) throw new Error(`not an exec form: ${t}`);
  return parsed;
}

function substitute(value: string, args: Record<string, string | undefined>): string {
  return value.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_, name: string) => {
    const v = args[name];
    if (v === undefined) throw new Error(`ARG ${name} has no default`);
    return v;
  });
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + sep.length)];
}

function unquote(v: string): string {
  if (/^".*"$/s.test(v)) return v.slice(1, -1).replace(/\\(.)/g, '$1');
  if (/^'.*'$/s.test(v)) return v.slice(1, -1);
  return v;
}

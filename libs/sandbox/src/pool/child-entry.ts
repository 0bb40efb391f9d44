import path from 'node:path';

export interface ChildEntry {
  modulePath: string;
  execArgv: string[];
}

const CHILD_DIR = path.join(__dirname, '..', 'child');

/**
 * Where the child entry is and how to start it. The pool and the child are
 * siblings in this lib, so the path is relative to this file: in a build it
 * is `dist/libs/sandbox/src/child/child-process.main.js`; when this file is
 * itself a `.ts` (Jest, scripts run from sources) the child is the `.ts` one,
 * started with `--require swc-register.cjs` so it compiles its own imports.
 */
export function resolveChildEntry(childModulePath?: string, extraExecArgv: readonly string[] = []): ChildEntry {
  const fromSources = path.extname(__filename) === '.ts';
  const modulePath = childModulePath ?? path.join(CHILD_DIR, `child-process.main${fromSources ? '.ts' : '.js'}`);
  // isolated-vm cannot run on top of Node's startup snapshot.
  const execArgv = ['--no-node-snapshot', ...extraExecArgv];
  if (modulePath.endsWith('.ts')) execArgv.push('--require', path.join(CHILD_DIR, 'swc-register.cjs'));
  return { modulePath, execArgv };
}

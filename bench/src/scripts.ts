import { performance } from 'node:perf_hooks';
import { runInNewContext } from 'node:vm';

// The scripts the benchmark runs, identical for the floor and for Kiln.

/** The trivial script of the issue, as a CommonJS handler (Kiln's handler style). */
export const SUM_SOURCE = 'module.exports = ({ input }) => ({ sum: input.a + input.b });';

export const CPU_WORK_MS = 5;

/**
 * A fixed amount of CPU work (not a wall-clock wait: a loop that spins until
 * Date.now() has moved 5 ms would do less work the more runs share a core,
 * and reward concurrency instead of measuring overhead).
 */
export function cpuSource(iterations: number): string {
  return `module.exports = ({ input }) => { let x = 0; for (let i = 0; i < ${iterations}; i++) x = (x + i * 7) % 1000003; return { sum: input.a + input.b, x }; };`;
}

/**
 * How many iterations of cpuSource's loop take `targetMs` on this machine.
 * Each timing compiles the loop afresh in a new context (as every run's
 * fresh context does, so the cold start and on-stack replacement are part
 * of it); the best of
 * several timings is the one least disturbed by other processes.
 */
export function calibrateCpuLoop(targetMs = CPU_WORK_MS): { iterations: number; msPerRun: number } {
  const body = 'let x = 0; for (let i = 0; i < n; i++) x = (x + i * 7) % 1000003; return x;';
  const time = (n: number): number => {
    let best = Infinity;
    for (let i = 0; i < 9; i++) {
      const loop = runInNewContext(`(function (n) { ${body} // ${i}\n})`) as (n: number) => number;
      const t0 = performance.now();
      loop(n);
      best = Math.min(best, performance.now() - t0);
    }
    return best;
  };
  // Two rounds: the first estimate, then a correction at about the right size.
  let iterations = Math.round((200_000 * targetMs) / Math.max(time(200_000), 1e-3));
  iterations = Math.max(1000, Math.round((iterations * targetMs) / Math.max(time(iterations), 1e-3)));
  return { iterations, msPerRun: targetMs };
}

/** Size of the bundled script (UTF-8 bytes, about). */
export const BUNDLE_BYTES = 200 * 1024;

/**
 * The trivial script as a bundler would ship it: the same handler after
 * ~200 KiB of helper functions it never calls. Compiling them is lazy in V8,
 * so what the size costs is carrying and parsing the text, run after run.
 */
export function bundleSource(bytes = BUNDLE_BYTES): string {
  const parts = [SUM_SOURCE];
  let size = SUM_SOURCE.length;
  for (let i = 0; size < bytes; i++) {
    const helper = `function helper${i}(a, b) { return { index: ${i}, total: a + b + ${i}, label: 'helper number ${i} of the bundle' }; }`;
    parts.push(helper);
    size += helper.length + 1;
  }
  return parts.join('\n');
}

/** A fixed body so every request parses the same JSON. */
export const RUN_INPUT = { a: 2, b: 3 };
export const EXPECTED_SUM = 5;

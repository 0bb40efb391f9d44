// Loaded into each Kiln app with --require when the benchmark runs with
// --profile: SIGWINCH starts the V8 CPU profiler, the next SIGWINCH stops it
// and writes a .cpuprofile (readable by Chrome DevTools). Signals rather than
// --cpu-prof, because --cpu-prof writes only on a normal exit and profiles
// the whole run instead of one scenario. SIGWINCH because it is harmless
// (ignored by default) and, unlike SIGUSR2, not one of the signals Nest's
// shutdown hooks close the app on; SIGUSR1 belongs to Node's inspector.
import { renameSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';

const dir = process.env.KILN_BENCH_PROFILE_DIR;
const label = process.env.KILN_BENCH_APP_LABEL ?? 'app';

if (dir) {
  const session = new Session();
  session.connect();
  let running = false;
  let seq = 0;
  process.on('SIGWINCH', () => {
    if (!running) {
      running = true;
      session.post('Profiler.enable', () => session.post('Profiler.setSamplingInterval', { interval: 500 }, () => session.post('Profiler.start')));
      return;
    }
    running = false;
    session.post('Profiler.stop', (err, result) => {
      if (err) return;
      const file = path.join(dir, `${label}.${process.pid}.${++seq}.cpuprofile`);
      writeFileSync(`${file}.part`, JSON.stringify(result.profile));
      // Renamed only when complete, so the harness never reads half a file.
      renameSync(`${file}.part`, file);
    });
  });
}

// Preloaded into the node proxies by `npm run bench -- --profile=DIR` (through NODE_OPTIONS=--import,
// because Node 20 refuses --cpu-prof in NODE_OPTIONS and the mesh harness starts the CLI itself):
// runs the V8 CPU profiler from start to exit and writes DIR/<command>-<pid>.cpuprofile.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Sampling interval in µs; V8's default (1 ms) leaves too few samples in a short quick run. */
const SAMPLING_INTERVAL_US = 200;

const dir = process.env.L4MESH_BENCH_CPU_PROFILE_DIR;
const command = process.argv[2] ?? 'node';
if (dir && (command === 'ztunnel' || command === 'sidecar')) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: SAMPLING_INTERVAL_US });
  session.post('Profiler.start');
  // An in-process inspector session answers synchronously, so this works inside 'exit'.
  process.on('exit', () => {
    session.post('Profiler.stop', (err, result) => {
      if (!err) writeFileSync(join(dir, `${command}-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}

// Which Prometheus the console reads: the one `l4mesh dashboard prometheus` recorded in the state dir while
// that process lives, none once it is gone; and --prometheus refuses what is not a base URL, naming it.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runConsole } from '../../../src/console/command.js';
import { recordedPrometheus } from '../../../src/console/prometheus-source.js';
import { PROMETHEUS } from '../../../src/localrun/components.js';
import { processStartTime, writeProcessTable } from '../../../src/localrun/processes.js';

test('the recorded Prometheus is used while its process lives, and not after', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'l4mesh-console-prom-'));
  try {
    assert.equal(recordedPrometheus(dir), undefined);
    // This test's own process stands in for a running Prometheus.
    await writeProcessTable(dir, { [PROMETHEUS]: { pid: process.pid, startTime: processStartTime(process.pid), address: '127.0.9.254:9090', command: ['prometheus'] } });
    assert.equal(recordedPrometheus(dir), 'http://127.0.9.254:9090');
    // Same pid, another start time: a reused pid, not our Prometheus.
    await writeProcessTable(dir, { [PROMETHEUS]: { pid: process.pid, startTime: '1', address: '127.0.9.254:9090', command: ['prometheus'] } });
    assert.equal(recordedPrometheus(dir), undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('--prometheus must be a base URL: anything else is a usage error (exit 2) that names the value', async () => {
  for (const bad of ['127.0.0.1:9090', 'http://127.0.0.1:9090/graph', 'ftp://127.0.0.1:9090']) {
    const written: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string | Uint8Array) => (written.push(String(chunk)), true)) as typeof process.stderr.write;
    let code: number;
    try {
      code = await runConsole(['--prometheus', bad]);
    } finally {
      process.stderr.write = write;
    }
    assert.equal(code, 2, bad);
    assert.equal(written.join(''), `error: --prometheus must be Prometheus' base URL like http://127.0.0.1:9090, got "${bad}"\nRun "l4mesh dashboard --help" for usage.\n`);
  }
});

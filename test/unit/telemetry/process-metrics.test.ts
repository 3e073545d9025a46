import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { registerProcessMetrics } from '../../../src/dataplane/telemetry/process-metrics.js';
import { renderMetrics } from '../../../src/dataplane/telemetry/exposition.js';

test('process metrics: CPU, resident memory, heap, event loop lag and open fds are exported', async () => {
  const registry = new Registry();
  registerProcessMetrics(registry);
  registerProcessMetrics(registry); // idempotent: a second call must not throw on duplicate names
  const text = await renderMetrics([registry], 'prometheus');
  const types = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
  const expected: Array<[string, string]> = [
    ['process_cpu_seconds_total', 'counter'],
    ['process_cpu_user_seconds_total', 'counter'],
    ['process_cpu_system_seconds_total', 'counter'],
    ['process_start_time_seconds', 'gauge'],
    ['nodejs_eventloop_lag_seconds', 'gauge'],
    ['nodejs_eventloop_lag_p99_seconds', 'gauge'],
    ['nodejs_heap_size_used_bytes', 'gauge'],
    ['nodejs_heap_size_total_bytes', 'gauge'],
  ];
  if (process.platform === 'linux') {
    expected.push(['process_resident_memory_bytes', 'gauge'], ['process_open_fds', 'gauge'], ['process_max_fds', 'gauge']);
  }
  for (const [name, type] of expected) assert.equal(types.get(name), type, name);
  if (process.platform === 'linux') {
    const fds = Number(text.match(/^process_open_fds (\d+)$/m)?.[1]);
    assert.ok(fds > 0, `process_open_fds is ${fds}`);
  }
});

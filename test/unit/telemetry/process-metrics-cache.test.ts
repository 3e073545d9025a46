// Process metrics are computed at most once per PROCESS_METRICS_MAX_AGE_MS, however often a proxy is scraped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { PROCESS_METRICS_MAX_AGE_MS, registerProcessMetrics } from '../../../src/dataplane/telemetry/process-metrics.js';
import { renderMetrics } from '../../../src/dataplane/telemetry/exposition.js';

function cpuSeconds(text: string): number {
  const line = text.split('\n').find((l) => l.startsWith('process_cpu_user_seconds_total '));
  assert.ok(line, 'process_cpu_user_seconds_total is exposed');
  return Number(line.split(' ')[1]);
}

function burnCpu(ms: number): void {
  const end = Date.now() + ms;
  let x = 0;
  while (Date.now() < end) x += Math.sqrt(x + 1);
}

test('scrapes within the max age reuse one computation; an older one is recomputed', async () => {
  let clock = 1_000_000;
  const registry = new Registry();
  registerProcessMetrics(registry, () => clock);
  const first = cpuSeconds(await renderMetrics([registry], 'prometheus'));
  burnCpu(60);
  clock += PROCESS_METRICS_MAX_AGE_MS - 1;
  assert.equal(cpuSeconds(await renderMetrics([registry], 'prometheus')), first, 'same value inside the window');
  clock += 1;
  const third = cpuSeconds(await renderMetrics([registry], 'prometheus'));
  assert.ok(third > first, `recomputed after ${PROCESS_METRICS_MAX_AGE_MS} ms: ${third} > ${first}`);
});

test('registering twice on one registry is a no-op, and the metric names are the usual ones', async () => {
  const registry = new Registry();
  registerProcessMetrics(registry);
  registerProcessMetrics(registry);
  const names = new Set((await registry.getMetricsAsJSON()).map((m) => m.name));
  for (const n of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_open_fds', 'nodejs_eventloop_lag_seconds']) {
    assert.ok(names.has(n), `${n} registered`);
  }
});

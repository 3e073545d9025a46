// The bench's reading of /proc/stat, which decides when the machine is quiet enough to start a scenario.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCpuLine } from '../../../bench/proc.js';

test('the aggregate cpu line: busy counts user, nice, system, irq, softirq and steal; guest is inside user', () => {
  // user nice system idle iowait irq softirq steal guest guest_nice
  assert.deepEqual(parseCpuLine('cpu  1000 20 300 50000 40 5 6 7 900 0'), { busy: 1338, total: 51378 });
  assert.deepEqual(parseCpuLine('cpu 1 0 0 9 0 0 0 0\n'), { busy: 1, total: 10 });
});

test('a per-core line or a short line is refused with the line in the message', () => {
  assert.throws(() => parseCpuLine('cpu0 1 2 3 4 5 6 7 8 9 10'), { message: 'not the aggregate cpu line of /proc/stat: "cpu0 1 2 3 4 5 6 7 8 9 10"' });
  assert.throws(() => parseCpuLine('cpu 1 2 3'), { message: 'not the aggregate cpu line of /proc/stat: "cpu 1 2 3"' });
});

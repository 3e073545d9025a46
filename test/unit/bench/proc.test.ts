// The bench's reading of /proc: /proc/stat decides when the machine is quiet enough to start a scenario;
// /proc/<pid>/io and status say how `focus.js` figures' bytes were moved.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { options, parseActivity, parseCpuLine } from '../../../bench/proc.js';

test('the aggregate cpu line: busy counts user, nice, system, irq, softirq and steal; guest is inside user', () => {
  // user nice system idle iowait irq softirq steal guest guest_nice
  assert.deepEqual(parseCpuLine('cpu  1000 20 300 50000 40 5 6 7 900 0'), { busy: 1338, total: 51378 });
  assert.deepEqual(parseCpuLine('cpu 1 0 0 9 0 0 0 0\n'), { busy: 1, total: 10 });
});

test('a per-core line or a short line is refused with the line in the message', () => {
  assert.throws(() => parseCpuLine('cpu0 1 2 3 4 5 6 7 8 9 10'), { message: 'not the aggregate cpu line of /proc/stat: "cpu0 1 2 3 4 5 6 7 8 9 10"' });
  assert.throws(() => parseCpuLine('cpu 1 2 3'), { message: 'not the aggregate cpu line of /proc/stat: "cpu 1 2 3"' });
});

test("a process's system calls, bytes and context switches come from its io and status files", () => {
  const io = 'rchar: 7340032\nwchar: 5242880\nsyscr: 28\nsyscw: 20\nread_bytes: 0\nwrite_bytes: 4096\ncancelled_write_bytes: 0\n';
  const status = 'Name:\tnode\nThreads:\t11\nvoluntary_ctxt_switches:\t1500\nnonvoluntary_ctxt_switches:\t42\n';
  assert.deepEqual(parseActivity(io, status, 77), {
    reads: 28,
    writes: 20,
    readBytes: 7340032,
    writtenBytes: 5242880,
    voluntarySwitches: 1500,
    involuntarySwitches: 42,
  });
});

test('an io or status file without a counter is refused with the file and the line it lacks', () => {
  const status = 'voluntary_ctxt_switches:\t1\nnonvoluntary_ctxt_switches:\t2\n';
  // read_bytes must not stand in for rchar: a line is matched by its whole name.
  assert.throws(() => parseActivity('read_bytes: 5\nwchar: 1\nsyscr: 1\nsyscw: 1\n', status, 77), { message: '/proc/77/io: no "rchar:" line with a count' });
  assert.throws(() => parseActivity('rchar: 1\nwchar: 1\nsyscr: 1\nsyscw: 1\n', 'voluntary_ctxt_switches:\tn/a\n', 77), {
    message: '/proc/77/status: no "voluntary_ctxt_switches:" line with a count',
  });
});

test('bench tools read --name=value and bare --name options; a value may itself hold "="', () => {
  assert.deepEqual([...options(['--rounds=7', '--profile', '--scenarios=ambient,haproxy', '--out=/tmp/a=b.json'])], [
    ['rounds', '7'],
    ['profile', 'true'],
    ['scenarios', 'ambient,haproxy'],
    ['out', '/tmp/a=b.json'],
  ]);
  assert.deepEqual([...options([])], []);
});

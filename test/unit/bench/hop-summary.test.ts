// bench/hops.sh's reading of perf output: sched slices of the proxies' threads, read → write gaps per direction.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { quantiles, readToWriteGaps, schedSlices } from '../../../bench/hop-summary.js';

test('quantiles: p50 and p90 are sorted values, the mean is exact', () => {
  assert.deepEqual(quantiles([5, 1, 4, 2, 3, 10, 9, 8, 7, 6]), { n: 10, p50: 6, p90: 10, mean: 5.5 });
});

test('schedSlices keeps the threads of the named processes, by thread, in µs', () => {
  const timehist = [
    '           time    cpu  task name                       wait time  sch delay   run time',
    '                        [tid/pid]                          (msec)     (msec)     (msec)',
    '--------------- ------  ------------------------------  ---------  ---------  ---------',
    '   17650.458849 [0000]  node[25273]                         0.000      1.244      0.059 ',
    '   17650.458919 [0000]  node[25236]                         0.000      0.015      0.070 ',
    '   17650.458976 [0001]  node[25236]                         0.400      0.005      0.030 ',
    '   17650.459008 [0000]  haproxy[25338/25335]                0.000      0.006      0.025 ',
    '   17650.459107 [0000]  <idle>                              0.000      0.000      0.109 ',
  ].join('\n');
  const slices = schedSlices(timehist, new Set([25236, 25335]));
  assert.deepEqual([...slices.keys()], [25236, 25338]);
  assert.deepEqual(slices.get(25236)!.delay, { n: 2, p50: 15, p90: 15, mean: 10 });
  assert.deepEqual(slices.get(25236)!.run, { n: 2, p50: 70, p90: 70, mean: 50 });
  assert.deepEqual(slices.get(25338)!.run, { n: 1, p50: 25, p90: 25, mean: 25 });
});

test('readToWriteGaps pairs a read that carried data with the write right after it, per direction', () => {
  const trace = [
    '    22.601 ( 0.014 ms): node/25914 read(fd: 47<socket:[13348945]>, buf: 0x21e9e880, count: 262144)       = 1024',
    '    22.658 ( 0.023 ms): node/25914 write(fd: 48<socket:[13347659]>, buf: 0x21fadc30, count: 1055)        = 1055',
    '    22.810 ( 0.026 ms): node/25914 epoll_pwait(epfd: 13<anon_inode:[eventpoll]>, events: 0x7fff1e964e50, maxevents: 1024, sigsetsize: 8) = 0',
    '    22.956 ( 0.013 ms): node/25914 read(fd: 48<socket:[13347659]>, buf: 0x21f9dc20, count: 65536)        = 1055',
    '    23.006 ( 0.021 ms): node/25914 write(fd: 47<socket:[13348945]>, buf: 0x21fbc5c3, count: 1024)        = 1024',
    // A read until EAGAIN between the read and the write (haproxy's way) does not break the pair.
    '    23.100 ( 0.010 ms): haproxy/25914 recvfrom(fd: 47<socket:[13348945]>, ubuf: 0x21e9e880, size: 16384) = 1024',
    '    23.120 ( 0.010 ms): haproxy/25914 recvfrom(fd: 47<socket:[13348945]>, ubuf: 0x21e9e880, size: 16384) = -11',
    '    23.150 ( 0.010 ms): haproxy/25914 sendto(fd: 48<socket:[13347659]>, buff: 0x21fadc30, len: 1024)   = 1024',
    // A write with no read before it, then a poll between read and write: neither is a hop.
    '    23.160 ( 0.010 ms): node/25914 write(fd: 48<socket:[13347659]>, buf: 0x21fadc30, count: 1055)        = 1055',
    '    23.200 ( 0.010 ms): node/25914 read(fd: 47<socket:[13348945]>, buf: 0x21e9e880, count: 262144)       = 1024',
    '    23.220 ( 0.010 ms): node/25914 epoll_pwait(epfd: 13<anon_inode:[eventpoll]>, events: 0x7fff1e964e50, maxevents: 1024, sigsetsize: 8) = 0',
    '    23.300 ( 0.010 ms): node/25914 write(fd: 48<socket:[13347659]>, buf: 0x21fadc30, count: 1055)        = 1055',
  ].join('\n');
  const gaps = readToWriteGaps(trace);
  assert.deepEqual([...gaps.keys()], ['47->48', '48->47']);
  assert.deepEqual(gaps.get('47->48'), [43, 40]);
  assert.deepEqual(gaps.get('48->47'), [37]);
});

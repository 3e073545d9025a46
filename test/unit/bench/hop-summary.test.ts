// bench/hops.sh's reading of perf output: sched slices of the proxies' threads, read → write gaps per direction.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { quantiles, readToWriteGaps, schedSlices, wakeups } from '../../../bench/hop-summary.js';

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

test('wakeups splits each pair of processes by the core the woken one ran on, with µs from wake-up to running', () => {
  const script = [
    // load generator (pid 100, core 0) wakes proxy A (200), which runs on core 0 6 µs later.
    '            node   100/100   [000]   522.000000:       sched:sched_waking: comm=node pid=200 prio=120 target_cpu=000',
    '            node   100/100   [000]   522.000006:       sched:sched_switch: prev_comm=node prev_pid=100 prev_prio=120 prev_state=S ==> next_comm=node next_pid=200 next_prio=120',
    // A wakes proxy B (300), which runs on core 1 115 µs later; a second wake-up before it ran does not count.
    '            node   200/200   [000]   522.000040:       sched:sched_waking: comm=node pid=300 prio=120 target_cpu=001',
    '            node   200/200   [000]   522.000050:       sched:sched_waking: comm=node pid=300 prio=120 target_cpu=001',
    '         swapper     0/0     [001]   522.000155:       sched:sched_switch: prev_comm=swapper/1 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=node next_pid=300 next_prio=120',
    // A helper thread (301) of B is woken by B and named by its process.
    '            node   300/300   [001]   522.000160:       sched:sched_waking: comm=node pid=301 prio=120 target_cpu=001',
    '            node   300/300   [001]   522.000170:       sched:sched_switch: prev_comm=node prev_pid=300 prev_prio=120 prev_state=S ==> next_comm=node next_pid=301 next_prio=120',
    '            node   301/300   [001]   522.000180:       sched:sched_switch: prev_comm=node prev_pid=301 prev_prio=120 prev_state=S ==> next_comm=swapper/1 next_pid=0 next_prio=120',
    // A timer wakes the load generator.
    '         swapper     0/0     [000]   522.001000:       sched:sched_waking: comm=node pid=100 prio=120 target_cpu=000',
    '         swapper     0/0     [000]   522.001004:       sched:sched_switch: prev_comm=swapper/0 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=node next_pid=100 next_prio=120',
    '            node   100/100   [000]   522.001010:       sched:sched_waking: comm=node pid=200 prio=120 target_cpu=000',
    '            node   100/100   [000]   522.001018:       sched:sched_switch: prev_comm=node prev_pid=100 prev_prio=120 prev_state=S ==> next_comm=node next_pid=200 next_prio=120',
  ].join('\n');
  const pairs = wakeups(script);
  assert.deepEqual(Object.fromEntries(pairs), {
    'node[100] -> node[200]': { sameCore: [6, 8], otherCore: [] },
    'node[200] -> node[300]': { sameCore: [], otherCore: [115] },
    'node[300] -> node[301]': { sameCore: [10], otherCore: [] },
    'swapper[0] -> node[100]': { sameCore: [4], otherCore: [] },
  });
});

// `node dist/bench/hop-summary.js sched TIMEHIST PIDS SECONDS` and `node dist/bench/hop-summary.js trace TRACE...`:
// the two halves of a request's time in a proxy, read from `perf` output (bench/hops.sh records it).
// - sched: per proxy thread, from `perf sched timehist`, how long it waited for a core after each wake-up
//   (the scheduler's part), how long it ran each time, and how often it was switched in per request;
// - trace: per proxy, from `perf trace`, the time from the end of each read that carried a message to the
//   start of the write that passed it on (the proxy's own part of the hop), by direction (fd → fd);
// - wakeups: from `perf script` of the same sched record, for each pair of processes that wake each other
//   (load generator → proxy → proxy → backend and back), how often the woken one ran on the waker's core and
//   how often on the other, and how long it took from the wake-up until it ran, each way.
import { readFileSync } from 'node:fs';

export interface Quantiles {
  n: number;
  p50: number;
  p90: number;
  mean: number;
}

export function quantiles(values: number[]): Quantiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? NaN;
  const mean = sorted.reduce((s, v) => s + v, 0) / sorted.length;
  return { n: sorted.length, p50: at(0.5), p90: at(0.9), mean };
}

export interface ThreadSlices {
  /** Delay from wake-up to running, µs. */
  delay: Quantiles;
  /** Time on the CPU per switch-in, µs. */
  run: Quantiles;
}

/**
 * `perf sched timehist` rows: `time [cpu] task[tid(/pid)] wait delay run`, the last three in ms (a thread other
 * than a process's main one shows `tid/pid`). Returns the slices of each thread of the processes in `pids`,
 * keyed by thread id.
 */
export function schedSlices(timehist: string, pids: ReadonlySet<number>): Map<number, ThreadSlices> {
  const byThread = new Map<number, { delays: number[]; runs: number[] }>();
  for (const line of timehist.split('\n')) {
    const m = /^\s*\d+\.\d+\s+\[\d+\]\s+\S*\[(\d+)(?:\/(\d+))?\]\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*$/.exec(line);
    if (!m) continue;
    const tid = Number(m[1]);
    if (!pids.has(m[2] === undefined ? tid : Number(m[2]))) continue;
    let thread = byThread.get(tid);
    if (!thread) byThread.set(tid, (thread = { delays: [], runs: [] }));
    // perf prints ms with three decimals: whole µs.
    thread.delays.push(Math.round(Number(m[4]) * 1000));
    thread.runs.push(Math.round(Number(m[5]) * 1000));
  }
  const out = new Map<number, ThreadSlices>();
  for (const [tid, t] of byThread) out.set(tid, { delay: quantiles(t.delays), run: quantiles(t.runs) });
  return out;
}

/**
 * `perf trace` lines (`ts (dur ms): comm/tid call(fd: N…) = ret`): for each read that returned data and was
 * followed by a write or writev, with no other syscall between but reads that found nothing, the gap from the
 * read's end to the write's start in µs, keyed `readFd->writeFd`.
 */
export function readToWriteGaps(trace: string): Map<string, number[]> {
  const gaps = new Map<string, number[]>();
  let read: { end: number; fd: string } | undefined;
  for (const line of trace.split('\n')) {
    const m = /^\s*([\d.]+) \(\s*([\d.]+) ms\): \S+ (\w+)\((?:fd: (\d+))?.*\) += (-?\d+)/.exec(line);
    if (!m) continue;
    const [, ts, dur, call, fd, ret] = m;
    if (call === 'read' || call === 'recvfrom') {
      // A read that found nothing (haproxy reads until EAGAIN) leaves the one that carried the message.
      if (Number(ret) > 0 && fd) read = { end: Number(ts) + Number(dur), fd };
      continue;
    }
    if ((call === 'write' || call === 'writev' || call === 'sendto') && read && fd) {
      const key = `${read.fd}->${fd}`;
      if (!gaps.has(key)) gaps.set(key, []);
      gaps.get(key)!.push(Math.round((Number(ts) - read.end) * 1000));
    }
    read = undefined;
  }
  return gaps;
}

export interface WakeupPair {
  /** µs from the wake-up to the woken thread running, when it ran on the core that woke it. */
  sameCore: number[];
  /** The same, when it ran on another core. */
  otherCore: number[];
}

/**
 * `perf script -F comm,pid,tid,cpu,time,event,trace` of `sched_waking` and `sched_switch` events: for each
 * wake-up, whether the woken thread next ran on the core of the thread that woke it, and after how many µs.
 * Keyed `waker -> woken` by process (`comm[pid]`; interrupts and timers wake as `swapper[0]`). A thread woken
 * again before it ran counts once, from its first wake-up.
 */
export function wakeups(script: string): Map<string, WakeupPair> {
  const pending = new Map<number, { at: number; cpu: number; waker: string }>();
  const processOf = new Map<number, string>();
  const pairs = new Map<string, WakeupPair>();
  for (const line of script.split('\n')) {
    const m = /^\s*(.+?)\s+(\d+)\/(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+sched:(sched_waking|sched_switch):\s+(.*)$/.exec(line);
    if (!m) continue;
    const [, comm, pid, tid, cpu, at, event, rest] = m;
    processOf.set(Number(tid), `${comm}[${pid}]`);
    if (event === 'sched_waking') {
      const woken = Number(/ pid=(\d+)/.exec(` ${rest}`)?.[1]);
      if (!pending.has(woken)) pending.set(woken, { at: Number(at), cpu: Number(cpu), waker: `${comm}[${pid}]` });
      continue;
    }
    const next = Number(/next_pid=(\d+)/.exec(rest!)?.[1]);
    const wake = pending.get(next);
    if (!wake) continue;
    pending.delete(next);
    const nextComm = /next_comm=(.+?) next_pid=/.exec(rest!)?.[1] ?? '?';
    const key = `${wake.waker} -> ${processOf.get(next) ?? `${nextComm}[${next}]`}`;
    let pair = pairs.get(key);
    if (!pair) pairs.set(key, (pair = { sameCore: [], otherCore: [] }));
    (wake.cpu === Number(cpu) ? pair.sameCore : pair.otherCore).push(Math.round((Number(at) - wake.at) * 1e6));
  }
  return pairs;
}

/** A thread switched in less often than this per request does not carry the requests. */
const MIN_SWITCH_INS_PER_REQUEST = 0.2;

function main(argv: string[]): void {
  const [mode, file, ...rest] = argv;
  if (mode === 'sched' && file && rest.length === 2) {
    const pids = new Set(rest[0]!.split(',').map(Number));
    const requests = Number(rest[1]) * 1000;
    for (const [tid, s] of schedSlices(readFileSync(file, 'utf8'), pids)) {
      // A Node proxy's helper threads (V8's platform workers, libuv's pool) wake rarely: only the threads that
      // carry the requests are shown.
      const switchIns = s.run.n / requests;
      if (switchIns < MIN_SWITCH_INS_PER_REQUEST) continue;
      console.log(
        `  ${tid}: ${switchIns.toFixed(2)} switch-ins per request; wait for a core after a wake-up p50 ${s.delay.p50.toFixed(0)} µs, ` +
          `p90 ${s.delay.p90.toFixed(0)}, mean ${s.delay.mean.toFixed(1)}; time on the CPU per switch-in p50 ${s.run.p50.toFixed(0)} µs, mean ${s.run.mean.toFixed(1)}`,
      );
    }
    return;
  }
  if (mode === 'trace' && file) {
    for (const f of [file, ...rest]) {
      const parts = [...readToWriteGaps(readFileSync(f, 'utf8'))]
        .filter(([, v]) => v.length >= 50)
        .map(([k, v]) => {
          const q = quantiles(v);
          return `fd ${k}: p50 ${q.p50.toFixed(0)} µs, p90 ${q.p90.toFixed(0)} (${q.n} messages)`;
        });
      console.log(`  ${f.replace(/^.*\//, '')}: read → write ${parts.join('; ') || 'no message seen'}`);
    }
    return;
  }
  if (mode === 'wakeups' && file && rest.length === 1) {
    const requests = Number(rest[0]) * 1000;
    let other = 0;
    const otherDelays: number[] = [];
    for (const [key, p] of [...wakeups(readFileSync(file, 'utf8'))].sort((a, b) => b[1].sameCore.length + b[1].otherCore.length - a[1].sameCore.length - a[1].otherCore.length)) {
      // The hops of the requests: pairs that wake each other about once per request; not timers (swapper).
      if ((p.sameCore.length + p.otherCore.length) / requests < MIN_SWITCH_INS_PER_REQUEST || key.startsWith('swapper')) continue;
      const same = quantiles(p.sameCore);
      const cross = quantiles(p.otherCore);
      other += p.otherCore.length;
      otherDelays.push(...p.otherCore);
      console.log(
        `  ${key}: on the waker's core ${(p.sameCore.length / requests).toFixed(2)} per request (p50 ${same.p50.toFixed(0)} µs to run), ` +
          `on the other core ${(p.otherCore.length / requests).toFixed(2)} (p50 ${cross.p50.toFixed(0)} µs)`,
      );
    }
    console.log(`  wake-ups onto the other core per request: ${(other / requests).toFixed(2)}, p50 ${quantiles(otherDelays).p50.toFixed(0)} µs from wake-up to running`);
    return;
  }
  process.stderr.write('usage: hop-summary sched TIMEHIST PIDS SECONDS | hop-summary trace TRACE... | hop-summary wakeups SCRIPT SECONDS\n');
  process.exit(2);
}

if (process.argv[1]?.endsWith('hop-summary.js')) main(process.argv.slice(2));

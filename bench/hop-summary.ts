// `node dist/bench/hop-summary.js sched TIMEHIST PIDS SECONDS` and `node dist/bench/hop-summary.js trace TRACE...`:
// the two halves of a request's time in a proxy, read from `perf` output (bench/hops.sh records it).
// - sched: per proxy thread, from `perf sched timehist`, how long it waited for a core after each wake-up
//   (the scheduler's part), how long it ran each time, and how often it was switched in per request;
// - trace: per proxy, from `perf trace`, the time from the end of each read that carried a message to the
//   start of the write that passed it on (the proxy's own part of the hop), by direction (fd → fd).
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
  process.stderr.write('usage: hop-summary sched TIMEHIST PIDS SECONDS | hop-summary trace TRACE...\n');
  process.exit(2);
}

if (process.argv[1]?.endsWith('hop-summary.js')) main(process.argv.slice(2));

// Child processes of the benchmark (backends, peers, load generators) and what /proc says about them:
// RSS from /proc/<pid>/status, CPU time from utime+stime in /proc/<pid>/stat.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';

/** Linux reports utime/stime in clock ticks; 100 per second on every distribution kernel we run on. */
const CLOCK_TICKS_PER_SECOND = 100;

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of running) if (c.exitCode === null) c.kill('SIGKILL');
});

export interface Tool {
  proc: ChildProcess;
  pid: number;
  output(): string;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export function startTool(command: string, args: string[], env?: Record<string, string>): Tool {
  const proc = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  running.add(proc);
  proc.on('exit', () => running.delete(proc));
  let out = '';
  proc.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  proc.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  return {
    proc,
    pid: proc.pid!,
    output: () => out,
    async waitFor(pattern, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(out)) {
        if (proc.exitCode !== null) throw new Error(`${command} exited (${proc.exitCode}) before printing ${pattern}:\n${out}`);
        if (Date.now() > deadline) throw new Error(`${command} did not print ${pattern} within ${timeoutMs} ms:\n${out}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = once(proc, 'exit');
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Runs a command to completion; rejects with its output when it fails. */
export async function run(command: string, args: string[], timeoutMs = 120_000): Promise<string> {
  const t = startTool(command, args);
  t.proc.stdin!.end();
  const timer = setTimeout(() => t.proc.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(t.proc, 'exit')) as [number | null];
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} failed (${code}):\n${t.output()}`);
  return t.output();
}

export function rssKiB(pid: number): number {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
  return m ? Number(m[1]) : NaN;
}

/** User and system CPU seconds the process has used so far (all its threads). */
export function cpuSplit(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start at state; utime/stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / CLOCK_TICKS_PER_SECOND, system: Number(fields[12]) / CLOCK_TICKS_PER_SECOND };
}

/**
 * What a process has done so far, summed over its threads: read- and write-type system calls and their bytes
 * (`/proc/<pid>/io`: syscr, syscw, rchar, wchar) and context switches (`/proc/<pid>/status`: voluntary ones are
 * waits for an event, involuntary ones preemptions). Differences of two snapshots say how a figure's bytes were
 * moved: how many calls per MB, how large each call, how often the process slept.
 */
export interface Activity {
  user: number;
  system: number;
  reads: number;
  writes: number;
  readBytes: number;
  writtenBytes: number;
  voluntarySwitches: number;
  involuntarySwitches: number;
}

export function activity(pid: number): Activity {
  return { ...cpuSplit(pid), ...parseActivity(readFileSync(`/proc/${pid}/io`, 'utf8'), readFileSync(`/proc/${pid}/status`, 'utf8'), pid) };
}

/** The counters of `Activity` other than CPU time, from the text of `/proc/<pid>/io` and `/proc/<pid>/status`. */
export function parseActivity(io: string, status: string, pid: number): Omit<Activity, 'user' | 'system'> {
  const field = (text: string, file: string, name: string): number => {
    const m = text.match(new RegExp(`^${name}:\\s+(\\d+)$`, 'm'));
    if (!m) throw new Error(`/proc/${pid}/${file}: no "${name}:" line with a count`);
    return Number(m[1]);
  };
  return {
    reads: field(io, 'io', 'syscr'),
    writes: field(io, 'io', 'syscw'),
    readBytes: field(io, 'io', 'rchar'),
    writtenBytes: field(io, 'io', 'wchar'),
    voluntarySwitches: field(status, 'status', 'voluntary_ctxt_switches'),
    involuntarySwitches: field(status, 'status', 'nonvoluntary_ctxt_switches'),
  };
}

/** A progress line of a bench run, stamped with the UTC time of day. */
export function log(line: string): void {
  process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
}

/** `--name=value` and bare `--name` (value "true") command-line options of a bench tool, by name. */
export function options(argv: readonly string[]): Map<string, string> {
  return new Map(
    argv.map((a) => {
      const option = a.replace(/^--/, '');
      const eq = option.indexOf('=');
      return eq < 0 ? ([option, 'true'] as const) : ([option.slice(0, eq), option.slice(eq + 1)] as const);
    }),
  );
}

/** User + system CPU seconds the process has used so far (all its threads). */
export function cpuSeconds(pid: number): number {
  const { user, system } = cpuSplit(pid);
  return user + system;
}

export function sum(pids: number[], f: (pid: number) => number): number {
  return pids.reduce((a, p) => a + f(p), 0);
}

/**
 * Jiffies busy and in total in the aggregate `cpu` line of /proc/stat: `cpu user nice system idle iowait irq
 * softirq steal guest guest_nice`. Guest time is already counted in user, so it is left out.
 */
export function parseCpuLine(line: string): { busy: number; total: number } {
  const fields = line.trim().split(/\s+/);
  if (fields[0] !== 'cpu' || fields.length < 9) throw new Error(`not the aggregate cpu line of /proc/stat: ${JSON.stringify(line)}`);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = fields.slice(1, 9).map(Number) as [number, number, number, number, number, number, number, number];
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

function machineJiffies(): { busy: number; total: number } {
  return parseCpuLine(readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!);
}

/** How long `waitForQuietMachine` waited and how busy the machine was in its last window. */
export interface QuietWait {
  waitedMs: number;
  /** Cores busy on average over the last window (0 … nproc). */
  busyCores: number;
  quiet: boolean;
}

/**
 * Waits until the machine has been nearly idle for `windows` consecutive windows of `windowMs` (at most
 * `maxBusyCores` cores busy on average), or until `limitMs` has passed. The load average is no guide: it
 * decays over minutes, long after whatever raised it has gone, while what matters to the next scenario is
 * whether anything still takes CPU from it now.
 */
export async function waitForQuietMachine(cores: number, maxBusyCores = 0.15, windows = 2, windowMs = 1_000, limitMs = 60_000): Promise<QuietWait> {
  const started = Date.now();
  let quietWindows = 0;
  let busyCores = NaN;
  while (true) {
    const a = machineJiffies();
    await new Promise((r) => setTimeout(r, windowMs));
    const b = machineJiffies();
    busyCores = b.total > a.total ? ((b.busy - a.busy) / (b.total - a.total)) * cores : 0;
    quietWindows = busyCores <= maxBusyCores ? quietWindows + 1 : 0;
    const waitedMs = Date.now() - started;
    if (quietWindows >= windows) return { waitedMs, busyCores: +busyCores.toFixed(2), quiet: true };
    if (waitedMs >= limitMs) return { waitedMs, busyCores: +busyCores.toFixed(2), quiet: false };
  }
}

// Running out of file descriptors, made visible and survivable. libuv hides EMFILE on accept (it accepts
// and closes the connection with a spare descriptor, and tells nobody), so the proxy watches its own
// descriptor use: when few are left, data listeners shed new connections (Node's maxConnections; each
// shed connection is counted in l4mesh_accept_errors_total{listener,code="EMFILE"}), dials failing with
// EMFILE/ENFILE do the same, one log line per interval says how many, and a reserve of descriptors held
// from start is released so admin, metrics and readiness keep answering until descriptors come back.
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../../logging/logger.js';

/** Enough for a few scrapes and admin requests at once (each holds one socket briefly). */
export const FD_RESERVE = 16;
/** One summary line per interval: a flood of accept errors must not become a flood of log lines. */
export const ACCEPT_ERROR_LOG_INTERVAL_MS = 10_000;
/**
 * How often descriptor use is read (/proc/self/fd) when few are free or the proxy is shedding: often
 * enough that a burst rarely reaches the limit between two reads.
 */
const FD_CHECK_MS = 250;
/**
 * The slowest: one readdir costs 0.08 ms with 100 descriptors and 5.5 ms with 10,000 (measured 2026-11-30),
 * and at 250 ms it was a node proxy's largest timer — a 0.6 ms stall four times a second under a 1,000
 * req/s latency test, each one in some request's path.
 */
const FD_CHECK_MAX_MS = 5_000;
/**
 * Descriptors are assumed to be taken no faster than this, to space the checks when many are free: above
 * a node proxy's measured connection rate (~1,400/s at concurrency 64, two descriptors each at most). A
 * faster burst is still caught by the first EMFILE, which starts shedding at once.
 */
const FD_ASSUMED_USE_PER_S = 3_000;

/**
 * The delay before the next descriptor check with `free` descriptors free: half the time the assumed rate
 * would take to use them, within [FD_CHECK_MS, FD_CHECK_MAX_MS]; the shortest while shedding (so recovery
 * is prompt) or when use cannot be read.
 */
export function nextFdCheckMs(free: number | undefined, underPressure: boolean): number {
  if (underPressure || free === undefined) return FD_CHECK_MS;
  const halfTimeToExhaustion = (free / FD_ASSUMED_USE_PER_S / 2) * 1000;
  return Math.min(FD_CHECK_MAX_MS, Math.max(FD_CHECK_MS, Math.round(halfTimeToExhaustion)));
}

/** Shed when this many descriptors or fewer are free; accept again when four times as many are (reserve held). */
const FD_LOW_WATER = FD_RESERVE;
const FD_EXHAUSTED = new Set(['EMFILE', 'ENFILE']);
/**
 * Under pressure a data listener closes each new connection right after accepting it (Node ignores 0,
 * so 1: a listener that holds none may keep one), so its backlog cannot eat the released reserve.
 */
const SHED_MAX_CONNECTIONS = 1;

export interface FdLimits {
  soft: number;
  hard: number;
}

/** RLIMIT_NOFILE from /proc/self/limits; undefined where /proc is not available or says "unlimited". */
export function readFdLimits(file = '/proc/self/limits'): FdLimits | undefined {
  try {
    const line = readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const m = line ? /^Max open files\s+(\d+)\s+(\d+)/.exec(line) : null;
    return m ? { soft: Number(m[1]), hard: Number(m[2]) } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Node raises the soft RLIMIT_NOFILE to the hard limit when it starts (node.cc, as ztunnel does), so a
 * proxy needs no setrlimit of its own; this logs the limit and is the self-test that the running Node
 * still does so (a warning names the fix if not).
 */
export function checkFdLimits(log: Logger): FdLimits | undefined {
  const limits = readFdLimits();
  if (!limits) return undefined;
  if (limits.soft < limits.hard) {
    log.warn('the soft file descriptor limit is below the hard limit; start the proxy with "prlimit --nofile=HARD:HARD" or "ulimit -n HARD"', { ...limits });
  } else {
    log.info('file descriptor limit', { ...limits });
  }
  return limits;
}

export type ListenerRole = 'data' | 'control';

class FdPressure {
  private readonly counts = new Map<string, number>();
  private readonly dataServers = new Set<Server>();
  private reserve: number[] = [];
  private unlogged = 0;
  private dialErrors = 0;
  private lastLogAt = 0;
  private logTimer?: NodeJS.Timeout;
  private log?: Logger;
  underPressure = false;

  private limit?: number;
  private checkTimer?: NodeJS.Timeout;

  /** Takes the reserve and starts watching descriptor use; call once at proxy start. */
  start(log: Logger): void {
    this.log = log;
    this.fillReserve();
    this.limit = readFdLimits()?.soft;
    if (this.checkTimer) return;
    this.scheduleCheck(FD_CHECK_MS);
  }

  /** Descriptors in use, or undefined without /proc. */
  private inUse(): number | undefined {
    try {
      return readdirSync('/proc/self/fd').length;
    } catch {
      return undefined;
    }
  }

  private scheduleCheck(ms: number): void {
    this.checkTimer = setTimeout(() => this.scheduleCheck(this.check()), ms);
    this.checkTimer.unref();
  }

  /** Reads descriptor use, sheds or recovers; returns the delay until the next check. */
  private check(): number {
    // Reading /proc takes a descriptor: one from the reserve, or the check would fail exactly when needed.
    const spare = this.reserve.pop();
    if (spare !== undefined) closeSync(spare);
    const used = this.inUse();
    // The limit can be changed from outside (prlimit --pid), so it is read again with each check.
    this.limit = readFdLimits()?.soft ?? this.limit;
    if (spare !== undefined && !this.underPressure) this.fillReserve();
    if (used === undefined || this.limit === undefined) {
      // Without /proc only errors signal pressure; it ends as soon as the reserve can be taken again.
      if (this.underPressure) this.tryRecover();
      return nextFdCheckMs(undefined, this.underPressure);
    }
    const free = this.limit - used;
    if (!this.underPressure && free <= FD_LOW_WATER) this.enterPressure(`${used} of ${this.limit} file descriptors in use`);
    // Recovered when, with the reserve taken back, 4 x FD_LOW_WATER descriptors are still free.
    else if (this.underPressure && free - this.reserveMissing() >= 4 * FD_LOW_WATER) this.tryRecover();
    return nextFdCheckMs(free, this.underPressure);
  }

  private reserveMissing(): number {
    return FD_RESERVE - this.reserve.length;
  }

  /** Counts and logs `server`'s accept errors; a 'data' server sheds new connections under pressure. */
  watch(server: Server, listener: string, role: ListenerRole): void {
    if (role === 'data') {
      this.dataServers.add(server);
      server.once('close', () => this.dataServers.delete(server));
      if (this.underPressure) server.maxConnections = SHED_MAX_CONNECTIONS;
      // Node closes a connection over maxConnections right after accepting it, and says so with 'drop'.
      server.on('drop', () => this.failed(listener, 'EMFILE'));
    }
    server.on('error', (err: NodeJS.ErrnoException) => this.failed(listener, err.code ?? 'UNKNOWN'));
  }

  register(registry: Registry): void {
    if (registry.getSingleMetric('l4mesh_accept_errors_total')) return;
    const counts = this.counts;
    new Counter({
      name: 'l4mesh_accept_errors_total',
      help: 'Connections a listener could not accept or keep (code EMFILE/ENFILE: out of file descriptors), by listener and error code.',
      labelNames: ['listener', 'code'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [key, n] of counts) {
          const [listener, code] = key.split('\t') as [string, string];
          this.inc({ listener, code }, n);
        }
      },
    });
  }

  /** Total accept errors counted so far (all listeners). */
  get total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }

  private failed(listener: string, code: string): void {
    const key = `${listener}\t${code}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    if (FD_EXHAUSTED.has(code)) this.enterPressure(`accept failed with ${code}`);
    this.unlogged++;
    this.logLater(code);
  }

  /**
   * A dial that failed for lack of descriptors (the connection itself is counted and logged by its
   * reporter, with its labels): the same pressure handling, and the summary line's dial count.
   */
  dialFailed(code: string | undefined): void {
    if (!code || !FD_EXHAUSTED.has(code)) return;
    this.dialErrors++;
    this.enterPressure(`a dial failed with ${code}`);
  }

  private logLater(code: string): void {
    const now = Date.now();
    if (now - this.lastLogAt >= ACCEPT_ERROR_LOG_INTERVAL_MS) return this.flushLog(code);
    this.logTimer ??= setTimeout(() => {
      this.logTimer = undefined;
      this.flushLog(code);
    }, this.lastLogAt + ACCEPT_ERROR_LOG_INTERVAL_MS - now);
    this.logTimer.unref();
  }

  private flushLog(code: string): void {
    if (this.unlogged === 0) return;
    this.log?.error('accepting connections failed', {
      count: this.unlogged,
      lastError: code,
      intervalS: ACCEPT_ERROR_LOG_INTERVAL_MS / 1000,
      total: this.total,
      dialErrors: this.dialErrors,
      fdLimit: readFdLimits()?.soft,
      hint: FD_EXHAUSTED.has(code) ? 'out of file descriptors: raise the hard limit (prlimit/ulimit -Hn, LimitNOFILE=) or spread the load' : undefined,
    });
    this.unlogged = 0;
    this.lastLogAt = Date.now();
  }

  /** Data listeners stop keeping new connections and the reserve is handed to admin/metrics/readiness. */
  private enterPressure(why: string): void {
    if (this.underPressure) return;
    this.underPressure = true;
    for (const s of this.dataServers) s.maxConnections = SHED_MAX_CONNECTIONS;
    for (const fd of this.reserve) closeSync(fd);
    this.reserve = [];
    this.log?.warn('out of file descriptors: new connections are refused until some close', { why, reserveReleased: FD_RESERVE });
  }

  private tryRecover(): void {
    if (!this.fillReserve()) return;
    this.underPressure = false;
    // Node's default: no limit.
    for (const s of this.dataServers) s.maxConnections = Infinity;
    this.log?.info('file descriptors available again; accepting connections');
  }

  /** True when the whole reserve is held. */
  private fillReserve(): boolean {
    try {
      while (this.reserve.length < FD_RESERVE) this.reserve.push(openSync('/dev/null', 'r'));
      return true;
    } catch {
      return false;
    }
  }
}

/** One per process: a process runs one proxy, whose listeners share its descriptor table. */
export const fdPressure = new FdPressure();

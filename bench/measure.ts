// One figure each: iperf3 bulk throughput, the Node load generator's connection rate, latency and
// idle-connection runs, and proxy CPU/RSS read from /proc around them.
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { run, startTool, cpuSeconds, cpuSplit, rssKiB, sum } from './proc.js';
import { binaryOf } from './peers/install.js';
import { nodeScript, onHost, scriptPath, type Endpoint, type Launch } from './scenarios.js';
import type { LoadSpec } from './load/client.js';

export interface Throughput {
  gbps: number;
  bytes: number;
  /** Proxy CPU seconds (user + system, all proxies) per GB moved; absent without proxies. */
  cpuSecondsPerGB?: number;
  /** The system (kernel) part of it: socket calls, TCP, the loopback or veth path, netfilter. */
  systemSecondsPerGB?: number;
}

/** iperf3 answers "server is busy" for a moment after the previous test; retry that a few times. */
const IPERF_ATTEMPTS = 4;

export async function iperf(at: Endpoint, o: { parallel: number; reverse: boolean; seconds: number; proxyPids: number[]; launch?: Launch }): Promise<Throughput> {
  const args = ['-c', at.host, '-p', String(at.port), '-t', String(o.seconds), '-P', String(o.parallel), '-J', '--connect-timeout', '5000'];
  if (o.reverse) args.push('-R');
  let lastError: unknown;
  for (let attempt = 0; attempt < IPERF_ATTEMPTS; attempt++) {
    const cpuBefore = sum(o.proxyPids, cpuSeconds);
    const systemBefore = sum(o.proxyPids, (p) => cpuSplit(p).system);
    try {
      const out = await run(...(o.launch ?? onHost)(binaryOf('iperf3')!, args), (o.seconds + 30) * 1000);
      const cpu = sum(o.proxyPids, cpuSeconds) - cpuBefore;
      const system = sum(o.proxyPids, (p) => cpuSplit(p).system) - systemBefore;
      const report = JSON.parse(out) as { end: { sum_received: { bits_per_second: number; bytes: number } } };
      const { bits_per_second, bytes } = report.end.sum_received;
      return {
        gbps: bits_per_second / 1e9,
        bytes,
        cpuSecondsPerGB: o.proxyPids.length > 0 ? cpu / (bytes / 1e9) : undefined,
        systemSecondsPerGB: o.proxyPids.length > 0 ? system / (bytes / 1e9) : undefined,
      };
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }
  throw lastError;
}

/** Runs the load generator in its own process and returns its JSON result. */
export async function load<T>(spec: LoadSpec, launch: Launch = onHost): Promise<T> {
  const out = await run(...launch(process.execPath, [...nodeScript(scriptPath('client')), JSON.stringify(spec)]), 600_000);
  const last = out.trim().split('\n').pop()!;
  return JSON.parse(last) as T;
}

export interface ConnRate {
  perSecond: number;
  completed: number;
  errors: number;
  firstError?: string;
  /** Proxy CPU (user + system, all proxies) during the run ÷ connections completed, in ms; absent without proxies. */
  cpuMsPerConnection?: number;
}

/** The connection-rate warm-up (bench/run.ts): its rounds together, and each round's proxy CPU per connection. */
export interface WarmUp extends ConnRate {
  rounds: number;
  roundsCpuMsPerConnection?: number[];
  /** Whether the cost stopped falling; false when the round limit ended the warm-up. */
  steady: boolean;
}

export interface Latency {
  requests: number;
  perSecond: number;
  p50us: number;
  p99us: number;
  p999us: number;
  /** Proxy CPU (user + system, all proxies) during the run ÷ requests answered, in µs; absent without proxies. */
  cpuUsPerRequest?: number;
}

/**
 * The load generator's connection-rate or latency run with the proxies' CPU read from /proc before and
 * after it, per connection or per request. The run's warm-up and the generator's start are inside the
 * window, so the figure is slightly high for every scenario alike.
 */
export async function loadWithCpu<T extends ConnRate | Latency>(spec: LoadSpec, proxyPids: number[], launch: Launch = onHost): Promise<T> {
  const before = sum(proxyPids, cpuSeconds);
  const r = await load<T>(spec, launch);
  const cpu = sum(proxyPids, cpuSeconds) - before;
  if (proxyPids.length === 0) return r;
  if ('completed' in r) r.cpuMsPerConnection = r.completed > 0 ? (cpu * 1e3) / r.completed : undefined;
  else r.cpuUsPerRequest = r.requests > 0 ? (cpu * 1e6) / r.requests : undefined;
  return r;
}

export interface IdleRss {
  connections: number;
  rssBeforeKiB: number;
  rssAfterKiB: number;
  perConnectionKiB: number;
  /** V8 heap in use per connection, summed over the proxies (from their own nodejs_heap_size_used_bytes). */
  heapUsedPerConnectionKiB?: number;
  errors: number;
}

/** nodejs_heap_size_used_bytes of every proxy that serves Prometheus metrics, in KiB; undefined without any. */
async function heapUsedKiB(metricsUrls: string[]): Promise<number | undefined> {
  if (metricsUrls.length === 0) return undefined;
  let total = 0;
  for (const url of metricsUrls) {
    const text = await (await fetch(url)).text();
    const m = /^nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\S+)/m.exec(text);
    if (!m) return undefined;
    total += Number(m[1]) / 1024;
  }
  return total;
}

/** Settle time after the last idle connection opened, so lazily allocated buffers are counted. */
const IDLE_SETTLE_MS = 2_000;

export async function idleRss(at: Endpoint, count: number, proxyPids: number[], metricsUrls: string[] = [], launch: Launch = onHost): Promise<IdleRss> {
  const before = sum(proxyPids, rssKiB);
  const heapBefore = await heapUsedKiB(metricsUrls).catch(() => undefined);
  const spec: LoadSpec = { mode: 'idle', host: at.host, port: at.port, count };
  const t = startTool(...launch(process.execPath, [...nodeScript(scriptPath('client')), JSON.stringify(spec)]));
  const lines = createInterface({ input: t.proc.stdout! });
  const [first] = (await once(lines, 'line')) as [string];
  const ready = JSON.parse(first) as { ready: number; errors: number; firstError?: string };
  await new Promise((r) => setTimeout(r, IDLE_SETTLE_MS));
  const after = sum(proxyPids, rssKiB);
  const heapAfter = await heapUsedKiB(metricsUrls).catch(() => undefined);
  t.proc.stdin!.write('close\n');
  await once(t.proc, 'exit');
  if (ready.ready === 0) throw new Error(`no idle connection could be opened: ${ready.firstError}`);
  return {
    connections: ready.ready,
    rssBeforeKiB: before,
    rssAfterKiB: after,
    perConnectionKiB: (after - before) / ready.ready,
    heapUsedPerConnectionKiB: heapBefore !== undefined && heapAfter !== undefined ? (heapAfter - heapBefore) / ready.ready : undefined,
    errors: ready.errors,
  };
}

/** The scrape rate of the "scrape under load" figure (issue 4): `npm run bench` and `focus.js scrape`. */
export const SCRAPES_PER_SECOND = 10;

/** Scrapes every URL `perSecond` times a second while `during` runs. */
export async function whileScraping<T>(urls: string[], perSecond: number, during: () => Promise<T>): Promise<{ result: T; scrapes: number; failures: number }> {
  let scrapes = 0;
  let failures = 0;
  const timer = setInterval(() => {
    for (const url of urls) {
      fetch(url)
        .then((r) => r.arrayBuffer())
        .then(
          () => scrapes++,
          () => failures++,
        );
    }
  }, 1000 / perSecond);
  try {
    const result = await during();
    return { result, scrapes, failures };
  } finally {
    clearInterval(timer);
  }
}

// `node dist/bench/focus.js <figure> [--scenario=ambient|ambient-netns|sidecar|haproxy|stunnel|node-tls] [--hbone-transport=l4mesh|node] [--placement=shared|nodes] [--profile=DIR] [--seconds=N] [--rounds=N]`:
// one figure of one l4mesh scenario, repeated, with the CPU seconds each process used during it — to see where a figure's
// cost goes and to compare two builds of the data path without a whole `npm run bench`.
//   figure: connrate8 | connrate64 | latency1000 | latency | up<N> | down<N> (N connections) | scrape (up1 while every proxy's
//   metrics are fetched 10 times a second) | idle<N> (N idle connections' RSS), or several joined by commas
//   (each round runs them in that order)
import { mkdir } from 'node:fs/promises';
import { ambient, haproxy, meshOptions, nodeTls, profile, stunnel, type Scenario } from './scenarios.js';
import { parseHboneTransport } from '../src/dataplane/hbone/transport.js';
import { sidecar } from './sidecar-scenario.js';
import { ambientNetns } from './netns-scenario.js';
import { idleRss, iperf, loadWithCpu, SCRAPES_PER_SECOND, whileScraping, type ConnRate, type Latency } from './measure.js';
import { activity, cpuSeconds, options, type Activity } from './proc.js';
import { ensurePeers, peerPackage } from './peers/install.js';
import { applyPlacement, parsePlacement } from './placement.js';

const args = options(process.argv.slice(3));
const figures = (process.argv[2] ?? 'connrate64').split(',');
/** Every figure this tool knows (see the list at the top); checked before a mesh is started for nothing. */
const KNOWN_FIGURE = /^(connrate\d+|latency\d*|up\d*|down\d*|idle\d*|scrape)$/;
for (const f of figures) if (!KNOWN_FIGURE.test(f) || /^(up|down)0+$/.test(f)) throw new Error(`unknown figure "${f}": see the list at the top of bench/focus.ts`);
const seconds = Number(args.get('seconds') ?? 5);
const placement = parsePlacement(args.get('placement'));
const rounds = Number(args.get('rounds') ?? 3);
const scenarios: Record<string, Scenario> = { ambient, 'ambient-netns': ambientNetns, sidecar, haproxy, stunnel, 'node-tls': nodeTls };
const scenario = scenarios[args.get('scenario') ?? 'ambient'];
if (!scenario) throw new Error(`--scenario: expected one of ${Object.keys(scenarios).join(', ')}, got "${args.get('scenario')}"`);
if (scenario.unavailable) throw new Error(`--scenario=${scenario.name}: ${scenario.unavailable}`);
// Like `npm run bench`, install what is missing (as root), but only what this scenario needs; a scenario
// without its tools stops here, by name.
const needs = ['iperf3', peerPackage(scenario.name)].filter((p): p is string => p !== undefined);
const available = await ensurePeers((line) => console.log(line), needs);
for (const p of needs) if (!available.has(p)) throw new Error(`--scenario=${scenario.name} needs Debian's ${p}, which is not installed and could not be installed`);
if (args.has('hbone-transport')) meshOptions.hboneTransport = parseHboneTransport(args.get('hbone-transport'), '--hbone-transport');
if (args.has('profile') && scenario !== ambient && scenario !== sidecar) {
  throw new Error(`--profile: only the ambient and sidecar scenarios start their proxies under the profiler, not ${scenario.name}`);
}
if (args.has('profile')) {
  profile.dir = args.get('profile')!;
  await mkdir(profile.dir, { recursive: true });
  if (scenario === sidecar) {
    // The ambient scenario sets this up for its node proxies itself; the sidecars inherit it from here.
    process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --import ${new URL('./cpu-profile-preload.js', import.meta.url).href}`.trim();
    process.env.L4MESH_BENCH_CPU_PROFILE_DIR = profile.dir;
  }
}

/** One process's work per GB carried between two snapshots: CPU split, system calls and their sizes, sleeps. */
function perGB(a: Activity, b: Activity, gb: number): string {
  const d = (k: keyof Activity): number => b[k] - a[k];
  const kib = (bytes: number, calls: number): string => (calls > 0 ? (bytes / calls / 1024).toFixed(1) : '-');
  return (
    `user ${(d('user') / gb).toFixed(2)} + system ${(d('system') / gb).toFixed(2)} s/GB; ` +
    `${(d('reads') / gb / 1000).toFixed(1)}k reads/GB of ${kib(d('readBytes'), d('reads'))} KiB, ` +
    `${(d('writes') / gb / 1000).toFixed(1)}k writes/GB of ${kib(d('writtenBytes'), d('writes'))} KiB; ` +
    `${(d('voluntarySwitches') / gb / 1000).toFixed(1)}k sleeps/GB, ${(d('involuntarySwitches') / gb / 1000).toFixed(1)}k preemptions/GB`
  );
}

const running = await scenario.start();
try {
  const pids = running.proxyPids;
  const launch = await applyPlacement(placement, scenario.name, running);
  console.log(`proxy pids: ${pids.join(' ')}`);
  for (let round = 0; round < rounds; round++) for (const figure of figures) {
    const before = pids.map(cpuSeconds);
    const activityBefore = pids.map(activity);
    const selfBefore = process.cpuUsage();
    let line: string;
    if (figure.startsWith('connrate')) {
      const r = await loadWithCpu<ConnRate>({ mode: 'connrate', ...running.echo, concurrency: Number(figure.slice(8)), seconds }, pids, launch);
      line = `${r.perSecond.toFixed(0)} conn/s, ${r.cpuMsPerConnection?.toFixed(3)} proxy CPU ms per connection (${r.errors} errors)`;
    } else if (figure.startsWith('latency')) {
      const r = await loadWithCpu<Latency>({ mode: 'latency', ...running.echo, rate: Number(figure.slice(7) || 0), seconds }, pids, launch);
      line = `p50 ${r.p50us.toFixed(0)} µs p99 ${r.p99us.toFixed(0)} µs p99.9 ${r.p999us.toFixed(0)} µs (${r.perSecond.toFixed(0)} req/s, ${r.cpuUsPerRequest?.toFixed(0)} proxy CPU µs per request)`;
    } else if (figure.startsWith('idle')) {
      const r = await idleRss(running.echo, Number(figure.slice(4) || 1000), pids, running.metricsUrls, launch);
      const heap = r.heapUsedPerConnectionKiB === undefined ? '' : `, V8 heap in use +${r.heapUsedPerConnectionKiB.toFixed(1)} KiB each`;
      line = `${r.connections} idle connections, ${r.perConnectionKiB.toFixed(1)} KiB RSS each${heap} (${r.rssBeforeKiB} → ${r.rssAfterKiB} KiB, ${r.errors} errors)`;
    } else if (figure === 'scrape') {
      const s = await whileScraping(running.metricsUrls, SCRAPES_PER_SECOND, () => iperf(running.iperf, { parallel: 1, reverse: false, seconds, proxyPids: pids, launch }));
      line = `${s.result.gbps.toFixed(2)} Gbit/s, ${s.result.cpuSecondsPerGB?.toFixed(2)} proxy CPU s/GB while scraped (${s.scrapes} scrapes, ${s.failures} failed)`;
    } else {
      const reverse = figure.startsWith('down');
      const parallel = Number(figure.slice(reverse ? 4 : 2) || 1);
      const t = await iperf(running.iperf, { parallel, reverse, seconds, proxyPids: pids, launch });
      line = `${t.gbps.toFixed(2)} Gbit/s, ${t.cpuSecondsPerGB?.toFixed(2)} proxy CPU s/GB`;
      const gb = t.bytes / 1e9;
      line += pids.map((p, i) => `\n  pid ${p}: ${perGB(activityBefore[i]!, activity(p), gb)}`).join('');
    }
    const used = pids.map((p, i) => (cpuSeconds(p) - before[i]!).toFixed(2));
    const self = process.cpuUsage(selfBefore);
    console.log(`${figure} round ${round + 1}: ${line}; proxy CPU s: ${used.join(' + ')}; harness ${((self.user + self.system) / 1e6).toFixed(2)} s`);
  }
} finally {
  await running.stop();
}

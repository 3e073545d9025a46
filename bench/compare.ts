// `node dist/bench/compare.js [--rounds=N] [--warmup=N] [--seconds=N] [--scenarios=ambient,haproxy,stunnel] [--figures=bulk,connrate,latency] [--base=DIR] [--out=FILE]`: issue 17's
// ratios with the drift taken out. `npm run bench` measures one scenario after another, so each of its ratios
// compares figures taken minutes apart, once each; on this shared 2-core VM the same mesh's cost per GB moves by
// ±10–15 % from one 4-second round to the next and by more between minutes. Here every scenario runs at once
// (idle while another is measured) and each round takes every figure of every scenario back to back, in an
// order that rotates from round to round. The first `--warmup` rounds (2) warm every proxy up; the figure of a
// scenario is the median of the rounds after them, and each ratio is ambient's median over the best peer's median.
// The peers are the C proxies (haproxy, stunnel); the Node scenarios (ambient, sidecar, node-tls: Node's bare TLS
// pipe, the floor under both) each get their own ratio over the best peer. `--figures` takes only some groups of
// figures, so that many rounds of one (the latency at 1,000 req/s) fit in a few minutes. `--base=DIR` (another
// checkout, built) adds the scenario `ambient@base`: ambient's mesh started from that checkout's dist/, measured
// in the same rounds as this build's — an A/B of two builds with the drift taken out. `--placement=nodes` runs
// each scenario as two one-core nodes (bench/placement.ts).
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { ambient, direct, haproxy, nodeTls, onHost, stunnel, type Launch, type RunningScenario, type Scenario } from './scenarios.js';
import { sidecar } from './sidecar-scenario.js';
import { cliBuild } from '../test/support/processes.js';
import { iperf, loadWithCpu, type ConnRate, type Latency } from './measure.js';
import { log, options, waitForQuietMachine } from './proc.js';
import { median, ratioRow } from './ratios.js';
import { applyPlacement, parsePlacement } from './placement.js';

const args = options(process.argv.slice(2));
const rounds = Number(args.get('rounds') ?? 7);
const warmup = Number(args.get('warmup') ?? 2);
const seconds = Number(args.get('seconds') ?? 4);
const known: Record<string, Scenario> = { ambient, sidecar, 'node-tls': nodeTls, haproxy, stunnel };
const placement = parsePlacement(args.get('placement'));
const base = args.get('base');
if (base !== undefined) {
  if (!existsSync(join(base, 'dist', 'src', 'cli', 'main.js'))) throw new Error(`--base: ${base} has no dist/src/cli/main.js; build it first (npx tsc -p ${base})`);
  known['ambient@base'] = {
    name: 'ambient@base',
    async start() {
      cliBuild.root = base;
      try {
        return await ambient.start();
      } finally {
        cliBuild.root = undefined;
      }
    },
  };
}
/** The C proxies: "the best peer" of every ratio is the better of these. */
const PEERS = new Set(['haproxy', 'stunnel']);
const names = (args.get('scenarios') ?? 'ambient,haproxy,stunnel').split(',');
for (const n of names) if (!known[n]) throw new Error(`--scenarios: unknown scenario "${n}"; expected some of ${Object.keys(known).join(', ')}`);
if (new Set(names).size !== names.length) throw new Error(`--scenarios: a scenario named twice in "${names.join(',')}"`);
const ours = names.filter((n) => !PEERS.has(n));
const peers = names.filter((n) => PEERS.has(n));
if (ours.length === 0 || peers.length === 0) throw new Error('--scenarios: at least one of ambient, sidecar, node-tls and at least one of haproxy, stunnel');
if (!(warmup >= 0) || !(rounds > warmup) || !(seconds >= 1)) throw new Error(`--rounds must exceed --warmup (≥ 0) and --seconds be ≥ 1; got ${rounds}, ${warmup} and ${seconds}`);

/** A figure, whether less is better, and the group of measurements that takes it. */
const ALL_FIGURES = [
  { key: 'up1 CPU s/GB', lower: true, group: 'bulk' },
  { key: 'down1 CPU s/GB', lower: true, group: 'bulk' },
  { key: 'up8 CPU s/GB', lower: true, group: 'bulk' },
  { key: 'down8 CPU s/GB', lower: true, group: 'bulk' },
  { key: 'up1 Gbit/s', lower: false, group: 'bulk' },
  { key: 'down1 Gbit/s', lower: false, group: 'bulk' },
  { key: 'c8 CPU ms/conn', lower: true, group: 'connrate' },
  { key: 'c64 CPU ms/conn', lower: true, group: 'connrate' },
  { key: 'added p50 µs @1k', lower: true, group: 'latency' },
  { key: 'p99 µs @1k', lower: true, group: 'latency' },
  { key: 'CPU µs/req @1k', lower: true, group: 'latency' },
] as const;
type FigureKey = (typeof ALL_FIGURES)[number]['key'];
type Group = (typeof ALL_FIGURES)[number]['group'];
const GROUPS: readonly Group[] = ['bulk', 'connrate', 'latency'];
const groups = new Set((args.get('figures') ?? GROUPS.join(',')).split(','));
for (const g of groups) if (!GROUPS.includes(g as Group)) throw new Error(`--figures: unknown group "${g}"; expected some of ${GROUPS.join(', ')}`);
/** The figures taken for every scenario in every round. */
const FIGURES = ALL_FIGURES.filter((f) => groups.has(f.group));

/** The chosen figures of one scenario, once. `directP50` is direct's p50 of the same round (for "added p50"). */
async function measureOnce(r: RunningScenario, launch: Launch, directP50: number): Promise<Partial<Record<FigureKey, number>>> {
  const pids = r.proxyPids;
  const out: Partial<Record<FigureKey, number>> = {};
  if (groups.has('bulk')) {
    for (const [name, parallel, reverse] of [['up1', 1, false], ['down1', 1, true], ['up8', 8, false], ['down8', 8, true]] as const) {
      const t = await iperf(r.iperf, { parallel, reverse, seconds, proxyPids: pids, launch });
      out[`${name} CPU s/GB`] = t.cpuSecondsPerGB!;
      if (parallel === 1) out[`${name} Gbit/s` as 'up1 Gbit/s'] = t.gbps;
    }
  }
  if (groups.has('connrate')) {
    for (const concurrency of [8, 64] as const) {
      const c = await loadWithCpu<ConnRate>({ mode: 'connrate', ...r.echo, concurrency, seconds }, pids, launch);
      if (c.errors > 0) throw new Error(`c${concurrency}: ${c.errors} errors (${c.firstError})`);
      out[`c${concurrency} CPU ms/conn`] = c.cpuMsPerConnection!;
    }
  }
  if (groups.has('latency')) {
    const l = await loadWithCpu<Latency>({ mode: 'latency', ...r.echo, rate: 1_000, seconds }, pids, launch);
    out['added p50 µs @1k'] = l.p50us - directP50;
    out['p99 µs @1k'] = l.p99us;
    out['CPU µs/req @1k'] = l.cpuUsPerRequest!;
  }
  return out;
}

/** Each started scenario, with how its load generator starts (placement.ts). */
const started: Array<{ name: string; running: RunningScenario; launch: Launch }> = [];
const results: Record<string, Array<Partial<Record<FigureKey, number>>>> = Object.fromEntries(names.map((n) => [n, []]));
const directP99s: number[] = [];
try {
  for (const n of ['direct', ...names]) {
    log(`starting ${n}`);
    const running = await (n === 'direct' ? direct : known[n]!).start();
    // In the list before placing, so that a failed placement still stops it.
    const entry = { name: n, running, launch: running.launch ?? onHost };
    started.push(entry);
    entry.launch = await applyPlacement(placement, n, running);
  }
  const directRun = started[0]!;
  const meshes = started.slice(1);
  for (let round = 0; round < rounds; round++) {
    const quiet = await waitForQuietMachine(2);
    const d = await loadWithCpu<Latency>({ mode: 'latency', ...directRun.running.echo, rate: 1_000, seconds }, [], directRun.launch);
    directP99s.push(d.p99us);
    // Rotate: round k starts with scenario k mod n, so no scenario always follows the same one.
    const order = meshes.map((_, i) => meshes[(i + round) % meshes.length]!);
    for (const { name, running, launch } of order) {
      const f = await measureOnce(running, launch, d.p50us);
      if (round >= warmup) results[name]!.push(f);
      log(`round ${round + 1}${round < warmup ? ' (warm-up)' : ''} ${name}: ${FIGURES.map(({ key }) => `${key} ${f[key]!.toFixed(key.includes('µs') ? 0 : 2)}`).join(', ')}`);
    }
    log(`round ${round + 1}: direct p50 ${d.p50us.toFixed(0)} µs p99 ${d.p99us.toFixed(0)} µs; ${quiet.busyCores.toFixed(2)} cores busy at its start; load ${loadavg()[0]!.toFixed(2)}`);
  }
} finally {
  for (const { running } of started.reverse()) await running.stop();
}

const lines: string[] = [
  `placement: ${placement === 'nodes' ? 'two one-core nodes (client side on core 0, server side on core 1)' : 'shared (the scheduler places every process)'}`,
  `| figure (median of ${rounds - warmup} rounds) | ${names.join(' | ')} | ${ours.map((n) => `${n} ÷ best peer | per round`).join(' | ')} |`,
  `| --- |${names.map(() => ' --- |').join('')}${ours.map(() => ' --- | --- |').join('')}`,
];
const summary: Record<string, unknown> = { date: new Date().toISOString(), placement, rounds, warmup, seconds, scenarios: names, figures: [...groups], results, directP99s };
for (const { key, lower } of FIGURES) {
  const digits = key.includes('µs') ? 0 : 3;
  const rows = ours.map((n) => ratioRow(results, n, peers, key, lower));
  const cells = rows.map((row) => `${row.ratio.toFixed(2)}× (${row.best}) | ${row.perRound.map((x) => x.toFixed(2)).join(', ')}`);
  lines.push(`| ${key} | ${names.map((n) => median(results[n]!.map((f) => f[key]!)).toFixed(digits)).join(' | ')} | ${cells.join(' | ')} |`);
}
if (groups.has('latency')) {
  lines.push(`direct p99 @1k by round: ${directP99s.map((x) => x.toFixed(0)).join(', ')} µs (median after the warm-up: ${median(directP99s.slice(warmup)).toFixed(0)})`);
  // The issue's p99 target is against direct's p99 of the same run: here, of the same round.
  const p99Ratio = (n: string): string => median(results[n]!.map((f, i) => f['p99 µs @1k']! / directP99s[warmup + i]!)).toFixed(2);
  lines.push(`p99 @1k ÷ direct's p99 of the same round (median): ${names.map((n) => `${n} ${p99Ratio(n)}×`).join(', ')}`);
}
console.log(lines.join('\n'));
if (args.has('out')) await writeFile(args.get('out')!, JSON.stringify(summary, null, 2) + '\n');

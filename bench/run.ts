// `npm run bench [-- --quick] [-- --only=ambient,direct,ambient-netns] [-- --profile=DIR] [-- --hbone-transport=l4mesh|node]`: measures every scenario one
// after the other on this machine, prints the table and the targets, and writes bench/results/<date>.json.
import { mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/config/paths.js';
import { ensurePeers, peerPackage } from './peers/install.js';
import { log, waitForQuietMachine } from './proc.js';
import { ambient, direct, haproxy, meshOptions, nodeTls, profile, startMetricsStandIn, stunnel, type Endpoint, type Launch, type RunningScenario, type Scenario } from './scenarios.js';
import { parseHboneTransport } from '../src/dataplane/hbone/transport.js';
import { sidecar } from './sidecar-scenario.js';
import { ambientNetns } from './netns-scenario.js';
import { idleRss, iperf, loadWithCpu, SCRAPES_PER_SECOND, whileScraping, type ConnRate, type Latency, type WarmUp } from './measure.js';
import { evaluate, formatTable, type ScenarioResult } from './report.js';

interface Plan {
  seconds: number;
  latencySeconds: number;
  idleConnections: number;
  /** Rounds of the scrape figure, each unscraped, proxies scraped and stand-in scraped (alternated, so drift hits all alike). */
  scrapeRounds: number;
  /** Connection-rate rounds before the measured ones, recorded apart (see bench/README.md): each this long… */
  warmupRoundSeconds: number;
  /** …until the proxies' CPU per connection stops falling (WARMUP_*), or this many rounds have run. */
  warmupMaxRounds: number;
}

const FULL: Plan = { seconds: 8, latencySeconds: 10, idleConnections: 10_000, scrapeRounds: 3, warmupRoundSeconds: 2, warmupMaxRounds: 12 };
const QUICK: Plan = { seconds: 2, latencySeconds: 3, idleConnections: 1_000, scrapeRounds: 1, warmupRoundSeconds: 1, warmupMaxRounds: 4 };
/**
 * A warm-up round "improves" when its proxy cost (CPU per connection, or per GB) is this fraction below the best round before
 * it… (10 % until 2026-11-30 ended ambient's warm-ups at 1.22-1.49 ms while its c8 run then measured, in three
 * runs of four, 0.90-1.17: V8 was still finishing in 5-8 % steps.)
 */
const WARMUP_STEADY = 0.05;
/** …and the warm-up ends after this many rounds in a row that did not. */
const WARMUP_FLAT_ROUNDS = 2;
/**
 * Each process of a TLS peer, and each sidecar, holds both sockets of a connection; 20,000 fds is this box's hard
 * limit. (The sidecar got 10,000 until 2026-11-30; 22–25 of them failed in each full run of 10:21–11:16 that day.)
 */
const TWO_SOCKET_IDLE_CONNECTIONS = 9_500;
/** The issue's fixed request rate for the latency figure. */
const FIXED_RATE = 1_000;

/** Whether a warm-up may end: its last WARMUP_FLAT_ROUNDS costs each came no more than WARMUP_STEADY below the best before them. */
function steadyAfter(costs: number[]): boolean {
  if (costs.length <= WARMUP_FLAT_ROUNDS) return false;
  for (let k = costs.length - WARMUP_FLAT_ROUNDS; k < costs.length; k++) {
    if (costs[k]! < (1 - WARMUP_STEADY) * Math.min(...costs.slice(0, k))) return false;
  }
  return true;
}

/**
 * 1-connection transfers, → then ←, until the proxies' CPU per GB stops falling, before any throughput
 * figure. A fresh mesh's first bulk seconds pay for V8 compiling the byte path: `focus.js up1,down1
 * --rounds=4 --seconds=4` on fresh meshes gave 3.34, 3.02, 3.07, 2.97 and 3.97, 2.81, 2.60, 2.44 proxy CPU
 * s/GB for →, and the full runs measured → first with no warm-up. A proxy whose cost does not fall (a C peer)
 * is done after three rounds.
 */
async function warmUpBulk(running: RunningScenario, pids: number[], launch: Launch | undefined, plan: Plan): Promise<NonNullable<ScenarioResult['throughputWarmup']>> {
  // Without proxies (direct) there is nothing to warm.
  if (pids.length === 0) return { rounds: 0, steady: true };
  const costs: number[] = [];
  let rounds = 0;
  while (rounds < plan.warmupMaxRounds) {
    rounds++;
    let cpuSeconds = 0;
    let gigabytes = 0;
    for (const reverse of [false, true]) {
      const t = await iperf(running.iperf, { parallel: 1, reverse, seconds: plan.warmupRoundSeconds, proxyPids: pids, launch });
      if (t.cpuSecondsPerGB === undefined) continue;
      cpuSeconds += t.cpuSecondsPerGB * (t.bytes / 1e9);
      gigabytes += t.bytes / 1e9;
    }
    // A round that moved nothing says nothing.
    if (gigabytes === 0) continue;
    costs.push(cpuSeconds / gigabytes);
    if (steadyAfter(costs)) return { rounds, roundsCpuSecondsPerGB: costs, steady: true };
  }
  return { rounds, roundsCpuSecondsPerGB: costs, steady: false };
}

/**
 * Connection-rate rounds at concurrency 8 until the proxies' CPU per connection stops falling. The bulk runs
 * before never opened a connection, and a Node proxy's first thousands of connections also pay for V8
 * compiling that path: `focus.js connrate8` measured 2.7, 1.8, 1.2, 1.0, 1.1, 1.0 ms per connection in
 * successive 3 s rounds, so a fixed 3 s warm-up left c8 measuring part of it. A C peer is steady from its
 * second round. Reported apart as `connRate.warmup`, never a target.
 */
async function warmUp(echo: Endpoint, pids: number[], launch: Launch | undefined, plan: Plan): Promise<WarmUp> {
  const rounds: ConnRate[] = [];
  // Rounds since the per-connection cost last fell by more than WARMUP_STEADY below its best so far. One
  // round alone is not enough: 2 s rounds are noisy enough that a warming proxy can repeat a figure once
  // (measured: 3.57, 1.80, 1.88, 1.43 ms).
  const costs: number[] = [];
  let steady = false;
  while (rounds.length < plan.warmupMaxRounds && !steady) {
    const r = await loadWithCpu<ConnRate>({ mode: 'connrate', ...echo, concurrency: 8, seconds: plan.warmupRoundSeconds }, pids, launch);
    rounds.push(r);
    const cost = r.cpuMsPerConnection;
    // Without proxies (direct) there is nothing to warm: one round.
    if (cost === undefined) {
      steady = pids.length === 0;
      continue;
    }
    costs.push(cost);
    steady = steadyAfter(costs);
  }
  const completed = rounds.reduce((n, r) => n + r.completed, 0);
  const perMs = rounds.map((r) => r.cpuMsPerConnection);
  const cpuMs = perMs.every((x) => x !== undefined) ? rounds.reduce((t, r) => t + r.cpuMsPerConnection! * r.completed, 0) : undefined;
  return {
    completed,
    perSecond: completed / (rounds.length * plan.warmupRoundSeconds),
    errors: rounds.reduce((n, r) => n + r.errors, 0),
    firstError: rounds.find((r) => r.firstError)?.firstError,
    cpuMsPerConnection: cpuMs !== undefined && completed > 0 ? cpuMs / completed : undefined,
    rounds: rounds.length,
    roundsCpuMsPerConnection: cpuMs !== undefined ? (perMs as number[]) : undefined,
    steady,
  };
}

async function measure(s: Scenario, plan: Plan): Promise<ScenarioResult> {
  // Other work on the machine shows up here: record it next to the figures it may have skewed.
  const result: ScenarioResult = { name: s.name, loadAverageAtStart: loadavg().map((x) => +x.toFixed(2)) };
  const running = await s.start();
  const pids = running.proxyPids;
  const launch = running.launch;
  try {
    const bulk = await warmUpBulk(running, pids, launch, plan);
    result.throughputWarmup = bulk;
    const bulkRounds = bulk.roundsCpuSecondsPerGB?.map((x) => x.toFixed(2)).join(', ');
    log(`${s.name} 1-connection warm-up → and ←: ${bulk.rounds} round(s)${bulkRounds ? `, proxy CPU s/GB by round ${bulkRounds}` : ''}${bulk.steady ? '' : ' (not steady)'} (not a figure)`);
    for (const [key, parallel, reverse] of [
      ['up1', 1, false],
      ['down1', 1, true],
      ['up8', 8, false],
      ['down8', 8, true],
    ] as const) {
      const t = await iperf(running.iperf, { parallel, reverse, seconds: plan.seconds, proxyPids: pids, launch });
      (result.throughput ??= {})[key] = t;
      log(`${s.name} throughput ${key}: ${t.gbps.toFixed(2)} Gbit/s${t.cpuSecondsPerGB !== undefined ? `, ${t.cpuSecondsPerGB.toFixed(2)} proxy CPU s/GB` : ''}`);
    }
    const warm = await warmUp(running.echo, pids, launch, plan);
    (result.connRate ??= {}).warmup = warm;
    const perRound = warm.roundsCpuMsPerConnection?.map((x) => x.toFixed(2)).join(', ');
    log(`${s.name} new connections warm-up c8: ${warm.rounds} round(s), ${warm.perSecond.toFixed(0)}/s${perRound ? `, proxy CPU ms per connection by round ${perRound}` : ''}${warm.steady ? '' : ' (not steady)'} (not a figure)`);
    for (const concurrency of [8, 64] as const) {
      const r = await loadWithCpu<ConnRate>({ mode: 'connrate', ...running.echo, concurrency, seconds: plan.seconds }, pids, launch);
      (result.connRate ??= {})[`c${concurrency}`] = r;
      const cpu = r.cpuMsPerConnection !== undefined ? `, ${r.cpuMsPerConnection.toFixed(3)} proxy CPU ms per connection` : '';
      log(`${s.name} new connections c${concurrency}: ${r.perSecond.toFixed(0)}/s${cpu} (${r.errors} errors${r.firstError ? `: ${r.firstError}` : ''})`);
    }
    for (const rate of [FIXED_RATE, 0]) {
      const r = await loadWithCpu<Latency>({ mode: 'latency', ...running.echo, rate, seconds: plan.latencySeconds }, pids, launch);
      (result.latency ??= {})[rate ? 'fixed1000' : 'full'] = r;
      const cpu = r.cpuUsPerRequest !== undefined ? `, ${r.cpuUsPerRequest.toFixed(0)} proxy CPU µs per request` : '';
      log(`${s.name} latency ${rate ? `${rate} req/s` : 'full speed'}: p50 ${r.p50us.toFixed(0)} µs p99 ${r.p99us.toFixed(0)} µs p99.9 ${r.p999us.toFixed(0)} µs (${r.perSecond.toFixed(0)} req/s${cpu})`);
    }
    if (running.metricsUrls.length > 0) {
      // Each round: unscraped, proxies scraped, stand-in scraped (the same scraper and bodies aimed at a
      // process outside the data path), so drift hits all three alike and the scraper's own CPU on these
      // two cores is in the control too.
      const plain: number[] = [];
      const scraped: number[] = [];
      const standInScraped: number[] = [];
      let scrapes = 0;
      let failures = 0;
      const standIn = await startMetricsStandIn(running.metricsUrls[0]!);
      try {
        const standInUrls = running.metricsUrls.map(() => standIn.url);
        const oneConnection = () => iperf(running.iperf, { parallel: 1, reverse: false, seconds: plan.seconds, proxyPids: pids, launch });
        for (let i = 0; i < plan.scrapeRounds; i++) {
          plain.push((await oneConnection()).gbps);
          const atProxies = await whileScraping(running.metricsUrls, SCRAPES_PER_SECOND, oneConnection);
          scraped.push(atProxies.result.gbps);
          scrapes += atProxies.scrapes;
          failures += atProxies.failures;
          standInScraped.push((await whileScraping(standInUrls, SCRAPES_PER_SECOND, oneConnection)).result.gbps);
        }
      } finally {
        await standIn.tool.stop();
      }
      const mean = (a: number[]): number => a.reduce((x, y) => x + y, 0) / a.length;
      result.scrape = {
        unscrapedGbps: mean(plain),
        scrapedGbps: mean(scraped),
        standInScrapedGbps: mean(standInScraped),
        ratio: mean(scraped) / mean(plain),
        ratioToStandIn: mean(scraped) / mean(standInScraped),
        scrapes,
        failures,
      };
      log(
        `${s.name} scraped ${SCRAPES_PER_SECOND}/s: ${mean(scraped).toFixed(2)} vs ${mean(plain).toFixed(2)} Gbit/s unscraped and ${mean(standInScraped).toFixed(2)} with the stand-in scraped (${scrapes} scrapes, ${failures} failed)`,
      );
    }
    if (pids.length > 0) {
      const count = ['stunnel', 'haproxy', 'node-tls', 'sidecar'].includes(s.name) ? Math.min(plan.idleConnections, TWO_SOCKET_IDLE_CONNECTIONS) : plan.idleConnections;
      result.idle = await idleRss(running.echo, count, pids, running.metricsUrls, launch);
      const heap = result.idle.heapUsedPerConnectionKiB;
      log(`${s.name} idle: ${result.idle.connections} connections, ${result.idle.perConnectionKiB.toFixed(1)} KiB RSS each${heap !== undefined ? `, V8 heap in use +${heap.toFixed(1)} KiB each (includes garbage not yet collected; RSS counts only newly committed pages)` : ''} (${result.idle.rssBeforeKiB} → ${result.idle.rssAfterKiB} KiB, ${result.idle.errors} errors)`);
    }
  } finally {
    await running.stop();
  }
  return result;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const only = args.find((a) => a.startsWith('--only='))?.slice(7).split(',');
  profile.dir = args.find((a) => a.startsWith('--profile='))?.slice(10);
  const transportArg = args.find((a) => a.startsWith('--hbone-transport='))?.slice(18);
  if (transportArg !== undefined) meshOptions.hboneTransport = parseHboneTransport(transportArg, '--hbone-transport');
  const plan = quick ? QUICK : FULL;
  const started = new Date();
  const machine = {
    date: started.toISOString(),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
    freeGiB: +(freemem() / 2 ** 30).toFixed(1),
    node: process.version,
    loadAverageAtStart: loadavg().map((x) => +x.toFixed(2)),
    quick,
    /** The ambient scenario's HBONE transport; undefined: the proxies' default. */
    hboneTransport: meshOptions.hboneTransport,
  };
  log(`machine: ${JSON.stringify(machine)}`);
  const available = await ensurePeers(log);
  if (!available.has('iperf3')) throw new Error('iperf3 is needed for the throughput figures and could not be installed');
  const scenarios: Scenario[] = [direct, ambient, ambientNetns, sidecar, stunnel, haproxy, nodeTls].filter((s) => !only || only.includes(s.name));
  const results: ScenarioResult[] = [];
  for (const s of scenarios) {
    const pkg = peerPackage(s.name);
    const missing = pkg !== undefined && !available.has(pkg);
    const why = s.unavailable ?? (missing ? `not measured: ${s.name} could not be installed` : undefined);
    if (why) {
      log(`${s.name}: ${why}`);
      results.push({ name: s.name, skipped: why });
      continue;
    }
    // Nothing of the scenario before may still take CPU from this one: it starts on a quiet machine, or
    // says that it could not. (The load average cannot tell: after stunnel's idle test it reads 17-30
    // on a machine that is idle again within 2 s.)
    const quiet = await waitForQuietMachine(machine.cpus);
    log(`--- ${s.name} (load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}; ${quiet.quiet ? 'quiet' : 'still busy'} after ${(quiet.waitedMs / 1000).toFixed(0)} s, ${quiet.busyCores} cores busy)`);
    try {
      results.push({ ...(await measure(s, plan)), quietAtStart: quiet });
    } catch (err) {
      log(`${s.name} failed: ${(err as Error).message}`);
      results.push({ name: s.name, skipped: `failed: ${(err as Error).message.split('\n')[0]}` });
    }
  }
  const targets = evaluate(results);
  const table = formatTable(results, targets);
  process.stdout.write('\n' + table + '\n');
  const dir = join(packageRoot(), 'bench', 'results');
  if (!existsSync(dir)) await mkdir(dir, { recursive: true });
  // One file per run: the date, and the start time when that date already has one (runs are compared).
  const day = `${started.toISOString().slice(0, 10)}${quick ? '-quick' : ''}`;
  const first = join(dir, `${day}.json`);
  const file = existsSync(first) ? join(dir, `${day}-${started.toISOString().slice(11, 16).replace(':', '')}Z.json`) : first;
  await writeFile(file, JSON.stringify({ machine, plan, results, targets }, null, 2) + '\n');
  log(`wrote ${file}`);
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`bench: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);

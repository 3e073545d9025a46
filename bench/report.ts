// The benchmark's table (absolute values, ratios to direct and to the best TLS-tunnel peer) and the
// issue's targets, each evaluated to PASS / MISS for every l4mesh scenario.
import type { ConnRate, IdleRss, Latency, Throughput, WarmUp } from './measure.js';
import type { QuietWait } from './proc.js';

export interface ScenarioResult {
  name: string;
  skipped?: string;
  /** 1/5/15-minute load average when the scenario started. */
  loadAverageAtStart?: number[];
  /** The wait for a quiet machine before the scenario (bench/README.md); absent before 2026-11-30 08:00. */
  quietAtStart?: QuietWait;
  throughput?: Partial<Record<'up1' | 'down1' | 'up8' | 'down8', Throughput>>;
  /** The bulk rounds before the throughput figures (bench/README.md), never a figure; absent before 2026-11-30 06:00. */
  throughputWarmup?: { rounds: number; roundsCpuSecondsPerGB?: number[]; steady: boolean };
  connRate?: Partial<Record<'c8' | 'c64', ConnRate>> & {
    /** The c8 rounds before the measured ones (bench/README.md), shown but never a target. */
    warmup?: WarmUp;
  };
  latency?: Partial<Record<'fixed1000' | 'full', Latency>>;
  idle?: IdleRss;
  scrape?: {
    unscrapedGbps: number;
    scrapedGbps: number;
    /** The same scraper aimed at bench/load/metrics-stand-in.ts instead of the proxies (absent before 2026-11-30). */
    standInScrapedGbps?: number;
    ratio: number;
    /** scrapedGbps ÷ standInScrapedGbps: what serving the scrapes costs forwarding, the scraper's own CPU taken out. */
    ratioToStandIn?: number;
    scrapes: number;
    failures: number;
  };
}

export interface TargetLine {
  scenario: string;
  target: string;
  value: string;
  pass: boolean | undefined;
}

interface Figure {
  label: string;
  higherIsBetter: boolean;
  get(r: ScenarioResult): number | undefined;
}

const FIGURES: Figure[] = [
  { label: 'throughput 1 conn → (Gbit/s)', higherIsBetter: true, get: (r) => r.throughput?.up1?.gbps },
  { label: 'throughput 1 conn ← (Gbit/s)', higherIsBetter: true, get: (r) => r.throughput?.down1?.gbps },
  { label: 'throughput 8 conn → (Gbit/s)', higherIsBetter: true, get: (r) => r.throughput?.up8?.gbps },
  { label: 'throughput 8 conn ← (Gbit/s)', higherIsBetter: true, get: (r) => r.throughput?.down8?.gbps },
  { label: 'proxy CPU s/GB (1 conn →)', higherIsBetter: false, get: (r) => r.throughput?.up1?.cpuSecondsPerGB },
  { label: 'proxy CPU s/GB (1 conn ←)', higherIsBetter: false, get: (r) => r.throughput?.down1?.cpuSecondsPerGB },
  { label: 'proxy CPU s/GB (8 conn →)', higherIsBetter: false, get: (r) => r.throughput?.up8?.cpuSecondsPerGB },
  { label: 'proxy CPU s/GB (8 conn ←)', higherIsBetter: false, get: (r) => r.throughput?.down8?.cpuSecondsPerGB },
  { label: 'of which system (kernel) s/GB (1 conn →)', higherIsBetter: false, get: (r) => r.throughput?.up1?.systemSecondsPerGB },
  { label: 'of which system (kernel) s/GB (8 conn ←)', higherIsBetter: false, get: (r) => r.throughput?.down8?.systemSecondsPerGB },
  { label: 'proxy CPU ms per new connection (c8)', higherIsBetter: false, get: (r) => r.connRate?.c8?.cpuMsPerConnection },
  { label: 'proxy CPU ms per new connection (c64)', higherIsBetter: false, get: (r) => r.connRate?.c64?.cpuMsPerConnection },
  { label: 'proxy CPU ms per new connection (c8 warm-up, all its rounds)', higherIsBetter: false, get: (r) => r.connRate?.warmup?.cpuMsPerConnection },
  { label: 'proxy CPU µs per request @1,000 req/s', higherIsBetter: false, get: (r) => r.latency?.fixed1000?.cpuUsPerRequest },
  { label: 'new conn/s, concurrency 8', higherIsBetter: true, get: (r) => r.connRate?.c8?.perSecond },
  { label: 'new conn/s, concurrency 64', higherIsBetter: true, get: (r) => r.connRate?.c64?.perSecond },
  { label: 'p50 µs @1,000 req/s', higherIsBetter: false, get: (r) => r.latency?.fixed1000?.p50us },
  { label: 'p99 µs @1,000 req/s', higherIsBetter: false, get: (r) => r.latency?.fixed1000?.p99us },
  { label: 'p99.9 µs @1,000 req/s', higherIsBetter: false, get: (r) => r.latency?.fixed1000?.p999us },
  { label: 'p50 µs full speed', higherIsBetter: false, get: (r) => r.latency?.full?.p50us },
  { label: 'p99 µs full speed', higherIsBetter: false, get: (r) => r.latency?.full?.p99us },
  { label: 'p99.9 µs full speed', higherIsBetter: false, get: (r) => r.latency?.full?.p999us },
  { label: 'req/s full speed (1 conn)', higherIsBetter: true, get: (r) => r.latency?.full?.perSecond },
  { label: 'RSS KiB per idle connection', higherIsBetter: false, get: (r) => r.idle?.perConnectionKiB },
  { label: 'V8 heap in use per idle connection (KiB)', higherIsBetter: false, get: (r) => r.idle?.heapUsedPerConnectionKiB },
  { label: 'throughput scraped 10/s ÷ unscraped', higherIsBetter: true, get: (r) => r.scrape?.ratio },
  { label: 'throughput scraped 10/s ÷ stand-in scraped 10/s', higherIsBetter: true, get: (r) => r.scrape?.ratioToStandIn },
];

const PEERS = ['stunnel', 'haproxy'];
/** l4mesh's scenarios: ratio columns and targets. ambient-netns is ambient with in-pod capture. */
const MESH = ['ambient', 'ambient-netns', 'sidecar'];

function bestPeer(results: ScenarioResult[], f: Figure): number | undefined {
  const values = results.filter((r) => PEERS.includes(r.name)).map(f.get).filter((v): v is number => v !== undefined && Number.isFinite(v));
  if (values.length === 0) return undefined;
  return f.higherIsBetter ? Math.max(...values) : Math.min(...values);
}

function fmt(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function ratio(a: number | undefined, b: number | undefined): string {
  return a === undefined || b === undefined || b === 0 ? '–' : `${(a / b).toFixed(2)}×`;
}

export function evaluate(results: ScenarioResult[]): TargetLine[] {
  const by = (name: string): ScenarioResult | undefined => results.find((r) => r.name === name && !r.skipped);
  const peers = results.filter((r) => PEERS.includes(r.name) && !r.skipped);
  const best = (get: (r: ScenarioResult) => number | undefined, higher: boolean): number | undefined => {
    const v = peers.map(get).filter((x): x is number => x !== undefined);
    return v.length ? (higher ? Math.max(...v) : Math.min(...v)) : undefined;
  };
  const lines: TargetLine[] = [];
  for (const name of MESH) {
    const r = by(name);
    if (!r) continue;
    const d = by('direct');
    const check = (target: string, value: number | undefined, bound: number | undefined, higher: boolean, show: (v: number, b: number) => string): void => {
      const pass = value === undefined || bound === undefined ? undefined : higher ? value >= bound : value <= bound;
      lines.push({ scenario: name, target, value: value === undefined || bound === undefined ? 'not measured' : show(value, bound), pass });
    };
    for (const [dir, key] of [['→', 'up1'], ['←', 'down1']] as const) {
      const peer = best((x) => x.throughput?.[key]?.gbps, true);
      check(`1-conn throughput ${dir} ≥ 1.0× best TLS peer`, r.throughput?.[key]?.gbps, peer, true, (v, b) => `${fmt(v)} vs ${fmt(b)} Gbit/s (${(v / b).toFixed(2)}×)`);
    }
    for (const [label, key] of [['1 conn →', 'up1'], ['1 conn ←', 'down1'], ['8 conn →', 'up8'], ['8 conn ←', 'down8']] as const) {
      const peer = best((x) => x.throughput?.[key]?.cpuSecondsPerGB, false);
      check(`proxy CPU per GB (${label}) ≤ 1.0× best TLS peer`, r.throughput?.[key]?.cpuSecondsPerGB, peer, false, (v, b) => `${fmt(v)} vs ${fmt(b)} s/GB (${(v / b).toFixed(2)}×)`);
    }
    for (const c of ['c8', 'c64'] as const) {
      // Only ambient (either capture) reuses its TLS session per connection; a sidecar pays a (resumed) handshake as the peers do.
      if (name.startsWith('ambient')) {
        const peerCpu = best((x) => x.connRate?.[c]?.cpuMsPerConnection, false);
        check(`proxy CPU per new connection ${c} ≤ 0.5× best TLS peer`, r.connRate?.[c]?.cpuMsPerConnection, peerCpu === undefined ? undefined : peerCpu * 0.5, false, (v, b) => `${v.toFixed(3)} vs ${(b * 2).toFixed(3)} ms (${(v / (b * 2)).toFixed(2)}×)`);
      }
      const peer = best((x) => x.connRate?.[c]?.perSecond, true);
      const v = r.connRate?.[c]?.perSecond;
      check(`new conn/s ${c} ≥ 10× best TLS peer`, v, peer === undefined ? undefined : peer * 10, true, (x, b) => `${fmt(x)} vs ${fmt(b / 10)}/s (${(x / (b / 10)).toFixed(2)}×)`);
      const dv = d?.connRate?.[c]?.perSecond;
      check(`new conn/s ${c} ≥ 0.5× direct`, v, dv === undefined ? undefined : dv * 0.5, true, (x, b) => `${fmt(x)} vs ${fmt(b * 2)}/s (${(x / (b * 2)).toFixed(2)}×)`);
    }
    const directP50 = d?.latency?.fixed1000?.p50us;
    const added = (x: ScenarioResult): number | undefined => (directP50 === undefined || x.latency?.fixed1000 === undefined ? undefined : x.latency.fixed1000.p50us - directP50);
    check('added p50 @1,000 req/s ≤ best peer added p50', added(r), best(added, false), false, (v, b) => `+${fmt(v)} vs +${fmt(b)} µs`);
    check('p99 @1,000 req/s ≤ 1 ms', r.latency?.fixed1000?.p99us, 1000, false, (v) => `${fmt(v)} µs`);
    const directP99 = d?.latency?.fixed1000?.p99us;
    check('p99 @1,000 req/s ≤ 1.5× direct p99', r.latency?.fixed1000?.p99us, !directP99 ? undefined : directP99 * 1.5, false, (v, b) => `${fmt(v)} vs ${fmt(b / 1.5)} µs (${(v / (b / 1.5)).toFixed(2)}×)`);
    check('RSS per idle proxied connection ≤ 16 KiB', r.idle?.perConnectionKiB, 16, false, (v) => `${fmt(v)} KiB`);
    // Judged against the stand-in scraped at the same rate: on two cores the scraper's own CPU otherwise
    // takes a few percent from any 1-connection run, whatever is scraped (bench/README.md).
    const scrape = r.scrape;
    check('throughput under 10 scrapes/s ≥ 0.97× with the stand-in scraped', scrape?.ratioToStandIn, 0.97, true, (v) =>
      `${v.toFixed(3)}× (${fmt(scrape!.scrapedGbps)} vs ${fmt(scrape!.standInScrapedGbps!)} Gbit/s; ${scrape!.ratio.toFixed(3)}× the unscraped ${fmt(scrape!.unscrapedGbps)})`,
    );
  }
  return lines;
}

export function formatTable(results: ScenarioResult[], targets: TargetLine[]): string {
  const shown = results.filter((r) => !r.skipped);
  const direct = shown.find((r) => r.name === 'direct');
  const header: string[] = ['figure'];
  for (const r of shown) {
    header.push(r.name);
    if (MESH.includes(r.name)) header.push(`${r.name} ÷ direct`, `${r.name} ÷ best peer`);
  }
  const rows = [header, header.map(() => '---')];
  for (const f of FIGURES) {
    const row = [f.label];
    const peer = bestPeer(results, f);
    for (const r of shown) {
      const v = f.get(r);
      row.push(fmt(v));
      if (MESH.includes(r.name)) row.push(ratio(v, direct ? f.get(direct) : undefined), ratio(v, peer));
    }
    rows.push(row);
  }
  let out = rows.map((r) => `| ${r.join(' | ')} |`).join('\n');
  for (const r of results.filter((x) => x.skipped)) out += `\n\n${r.name}: ${r.skipped}`;
  out += '\n\nTargets:\n';
  for (const t of targets) out += `${t.pass === undefined ? 'n/a ' : t.pass ? 'PASS' : 'MISS'}  ${t.scenario}: ${t.target} — ${t.value}\n`;
  return out;
}

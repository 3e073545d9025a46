// The console's own view of the mesh: scrapes every proxy listed by the control plane's /debug/prometheus_sd
// on an interval and keeps the recent scrapes in memory (the traffic source when no Prometheus answers), and
// reads the control plane's registry (which workloads live, where their pods run, services and policies).
import { windowOf, type Scrape } from './graph.js';
import { parsePrometheusText } from './prometheus-text.js';
import type { CounterSpan, TrafficSource } from './traffic-source.js';
import type { Registryz } from './mesh-views.js';

/** Kiali refreshes every 10–15 s; 2 s keeps a 10 s window's rate smooth and a deleted node's exit quick. */
export const DEFAULT_SCRAPE_INTERVAL_MS = 2_000;
/** Ten minutes of history: the longest window the console offers. */
export const HISTORY_MS = 600_000;
/** One proxy restarting must not hold a scrape round past the next one. */
const SCRAPE_TIMEOUT_MS = 1_500;

interface SdGroup {
  targets: string[];
  labels: Record<string, string>;
}

export interface Target {
  url: string;
  instance: string;
  role: string;
  proxy: string;
  node: string;
}

/** The proxies' scrape URLs from the SD answer (the control plane's own /metrics carries no istio_tcp_*). */
export function targetsOf(groups: SdGroup[]): Target[] {
  return groups
    .filter((g) => g.labels['role'] !== 'control-plane')
    .flatMap((g) =>
      g.targets.map((t) => ({ url: `http://${t}${g.labels['__metrics_path__'] ?? '/metrics'}`, instance: t, role: g.labels['role'] ?? '', proxy: g.labels['proxy'] ?? t, node: g.labels['node'] ?? '' })),
    );
}

async function getText(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.text();
}

export class MetricsHistory implements TrafficSource {
  readonly kind = 'proxies';
  private readonly scrapes: Scrape[] = [];
  private timer: NodeJS.Timeout | undefined;
  targets: Target[] = [];
  /** "namespace/workload" of every workload the control plane knows; undefined until first read. */
  live: Set<string> | undefined;
  /** The control plane's /debug/registryz at the last read: workloads, services, policies. */
  registry: Registryz | undefined;
  lastError = '';

  constructor(
    private readonly controlPlane: string,
    private readonly intervalMs = DEFAULT_SCRAPE_INTERVAL_MS,
  ) {}

  /** One round: refresh the target list, scrape every target at once, keep the result. */
  async scrapeOnce(): Promise<Scrape> {
    try {
      this.targets = targetsOf(JSON.parse(await getText(`${this.controlPlane}/debug/prometheus_sd`)) as SdGroup[]);
      const registry = JSON.parse(await getText(`${this.controlPlane}/debug/registryz`)) as Registryz;
      this.registry = registry;
      this.live = new Set(registry.workloads.map((w) => `${w.namespace}/${w.workloadName ?? w.name}`));
      this.lastError = '';
    } catch (err) {
      this.lastError = `cannot read ${this.controlPlane}/debug (is the control plane running?): ${(err as Error).message}`;
    }
    const parts = await Promise.all(
      this.targets.map(async (t) => {
        try {
          return parsePrometheusText(await getText(t.url)).map((s) => ({ ...s, instance: t.instance }));
        } catch {
          return [];
        }
      }),
    );
    const scrape: Scrape = { at: Date.now(), samples: parts.flat() };
    this.scrapes.push(scrape);
    while (this.scrapes.length > 2 && this.scrapes[0]!.at < scrape.at - HISTORY_MS) this.scrapes.shift();
    return scrape;
  }

  start(): void {
    const tick = () => {
      this.scrapeOnce().finally(() => {
        if (this.timer !== undefined) this.timer = setTimeout(tick, this.intervalMs);
      });
    };
    this.timer = setTimeout(tick, 0);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The scrape closest to `seconds` before the newest one, and the newest. */
  private bounds(seconds: number): [Scrape, Scrape] | undefined {
    const last = this.scrapes.at(-1);
    if (!last || this.scrapes.length < 2) return undefined;
    const wanted = last.at - seconds * 1000;
    let first = this.scrapes[0]!;
    for (const s of this.scrapes) if (s !== last && Math.abs(s.at - wanted) < Math.abs(first.at - wanted)) first = s;
    return [first, last];
  }

  async span(seconds: number): Promise<CounterSpan | undefined> {
    const b = this.bounds(seconds);
    if (!b) return undefined;
    return { from: b[0].at, to: b[1].at, ...windowOf(b[0], b[1]) };
  }

  /** One span per pair of consecutive scrapes within the last `seconds`. */
  async steps(seconds: number): Promise<CounterSpan[]> {
    const last = this.scrapes.at(-1);
    if (!last) return [];
    const first = this.scrapes.findIndex((s) => s.at >= last.at - seconds * 1000);
    const out: CounterSpan[] = [];
    for (let i = Math.max(1, first); i < this.scrapes.length; i++) {
      const [a, b] = [this.scrapes[i - 1]!, this.scrapes[i]!];
      out.push({ from: a.at, to: b.at, ...windowOf(a, b) });
    }
    return out;
  }
}

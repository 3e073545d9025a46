// Reads the node proxies' :15020 metrics and picks the istio_tcp_* series whose destination_service is
// the database: what the Istio task queries in Prometheus.
import { request } from 'node:http';

export const TCP_METRICS = ['istio_tcp_connections_opened_total', 'istio_tcp_connections_closed_total', 'istio_tcp_sent_bytes_total', 'istio_tcp_received_bytes_total'] as const;

/** A scrape must not stall the demo when a proxy is restarting. */
const SCRAPE_TIMEOUT_MS = 2_000;

export interface Series {
  /** The metrics URL it came from. */
  source: string;
  name: string;
  labels: Record<string, string>;
  value: number;
  /** The exposition line as the proxy wrote it. */
  line: string;
}

export function scrape(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: SCRAPE_TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => ((res.statusCode ?? 0) === 200 ? resolve(body) : reject(new Error(`${url}: HTTP ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer within ${SCRAPE_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** Parses `name{k="v",...} value` lines; label values keep Prometheus' escapes undone. */
export function parseSeries(text: string, source: string): Series[] {
  const out: Series[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\}\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of m[2]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    out.push({ source, name: m[1]!, labels, value: Number(m[3]), line });
  }
  return out;
}

/** The istio_tcp_* series of every metrics URL whose destination_service is `service`. */
export async function databaseSeries(urls: string[], service: string): Promise<Series[]> {
  const all: Series[] = [];
  for (const url of urls) {
    let text: string;
    try {
      text = await scrape(url);
    } catch {
      continue;
    }
    for (const s of parseSeries(text, url)) {
      if ((TCP_METRICS as readonly string[]).includes(s.name) && s.labels['destination_service'] === service) all.push(s);
    }
  }
  return all;
}

/** The labels the Istio task's example output shows, in a readable order. */
const SHOWN_LABELS = ['reporter', 'source_workload', 'source_version', 'destination_workload', 'destination_version', 'destination_service', 'connection_security_policy'];

/** `metric{a="x", b="y"} value`, one per series, grouped by metric, labels limited to SHOWN_LABELS. */
export function formatSeries(series: Series[]): string {
  const lines: string[] = [];
  for (const name of TCP_METRICS) {
    for (const s of series.filter((x) => x.name === name)) {
      const labels = SHOWN_LABELS.filter((k) => k in s.labels).map((k) => `${k}="${s.labels[k]}"`);
      lines.push(`${name}{${labels.join(', ')}} ${s.value}`);
    }
  }
  return lines.join('\n');
}

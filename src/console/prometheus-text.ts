// The Prometheus text exposition format parsed into samples with their labels in written order: what the
// console reads from the proxies' metrics scrapes (PROXY_METRICS_PORT) and what tests assert label values and order with.

export interface Sample {
  name: string;
  /** [label, value] pairs in exposition order. */
  labels: Array<[string, string]>;
  value: number;
}

function unescape(v: string): string {
  return v.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c));
}

/** Parses one `name{a="x",b="y"} value [timestamp]` line; throws on anything malformed. */
function parseLine(line: string): Sample {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?$/.exec(line);
  if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
  const labels: Array<[string, string]> = [];
  const body = m[3] ?? '';
  const re = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;
  let at = 0;
  while (at < body.length) {
    re.lastIndex = at;
    const l = re.exec(body);
    if (!l) throw new Error(`bad label list at ${at} in: ${line}`);
    labels.push([l[1]!, unescape(l[2]!)]);
    at = re.lastIndex;
  }
  const raw = m[4]!;
  const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
  if (Number.isNaN(value) && raw !== 'NaN') throw new Error(`bad value "${raw}" in: ${line}`);
  return { name: m[1]!, labels, value };
}

/** Every sample of the text, comments (# HELP / # TYPE) skipped. */
export function parsePrometheusText(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    out.push(parseLine(line));
  }
  return out;
}

export function labelsOf(s: Sample): Record<string, string> {
  return Object.fromEntries(s.labels);
}

/** Samples of `name` whose labels include every pair of `where`. */
export function select(samples: readonly Sample[], name: string, where: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels.some(([lk, lv]) => lk === k && lv === v)));
}

/** Sum of the values of the selected samples (0 when none). */
export function total(samples: readonly Sample[], name: string, where: Record<string, string> = {}): number {
  return select(samples, name, where).reduce((n, s) => n + s.value, 0);
}

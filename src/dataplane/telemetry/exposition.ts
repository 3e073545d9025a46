// Renders prom-client registries as Prometheus text 0.0.4 or OpenMetrics 1.0.0, without mutating them.
import type { Registry } from 'prom-client';

export type ExpositionFormat = 'prometheus' | 'openmetrics';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

/**
 * Why not `registry.metrics()`: the content type is a property of the whole registry, and in OpenMetrics
 * mode prom-client 15 renames every counter object in place (strips `_total`), so a later Prometheus-text
 * scrape of the same registry would print `istio_tcp_connections_opened{...}`. Rendering from
 * getMetricsAsJSON() leaves the metric objects alone and lets each scrape pick its format.
 */
export async function renderMetrics(registries: readonly Registry[], format: ExpositionFormat): Promise<string> {
  const open = format === 'openmetrics';
  const lines: string[] = [];
  for (const registry of registries) {
    for (const m of await registry.getMetricsAsJSON()) {
      const type = String(m.type);
      // OpenMetrics names the counter family without `_total` and every counter sample with it.
      const family = open && type === 'counter' ? m.name.replace(/_total$/, '') : m.name;
      lines.push(`# HELP ${family} ${escapeHelp(m.help, open)}`, `# TYPE ${family} ${type}`);
      for (const v of m.values) {
        let name = (v as { metricName?: string }).metricName ?? m.name;
        if (open && type === 'counter' && !name.endsWith('_total')) name += '_total';
        lines.push(`${name}${formatLabels(v.labels as Record<string, string | number | undefined>)} ${formatValue(v.value)}`);
      }
    }
  }
  if (open) lines.push('# EOF');
  return lines.join('\n') + '\n';
}

function escapeHelp(help: string, open: boolean): string {
  const s = help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  return open ? s.replace(/"/g, '\\"') : s;
}

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatLabels(labels: Record<string, string | number | undefined>): string {
  let out = '';
  for (const name in labels) {
    const v = labels[name];
    if (v === undefined) continue;
    out += `${out ? ',' : ''}${name}="${escapeLabelValue(String(v))}"`;
  }
  return out ? `{${out}}` : '';
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

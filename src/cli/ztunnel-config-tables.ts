// The tables of `l4mesh ztunnel-config` (DESIGN §7): headers as istioctl prints them, one-space padding.
import type { CertificateDump, ConfigDump } from '../localrun/node-admin.js';
import { formatTable } from './cli-context.js';

type Obj = Record<string, unknown>;
/** istioctl's tabwriter pads columns with a single space. */
const GAP = 1;

function waypointName(w: unknown): string {
  const wp = w as { hostname?: { hostname?: string }; address?: { address?: string } } | undefined;
  if (!wp) return 'None';
  return wp.hostname?.hostname?.split('.')[0] ?? wp.address?.address ?? 'None';
}

export function workloadsTable(dump: Pick<ConfigDump, 'workloads'>, namespace?: string): string {
  const rows = dump.workloads
    .filter((w) => !namespace || w['namespace'] === namespace)
    .map((w) => [
      String(w['namespace']),
      String(w['name']),
      ((w['addresses'] as string[] | undefined) ?? []).join(','),
      String(w['node'] ?? ''),
      waypointName(w['waypoint']),
      w['tunnelProtocol'] === 'HBONE' ? 'HBONE' : 'TCP',
    ])
    .sort((a, b) => a[0]!.localeCompare(b[0]!) || a[1]!.localeCompare(b[1]!));
  return formatTable(['NAMESPACE', 'POD NAME', 'IP', 'NODE', 'WAYPOINT', 'PROTOCOL'], rows, GAP);
}

export function servicesTable(dump: Pick<ConfigDump, 'workloads' | 'services'>, namespace?: string): string {
  const rows = dump.services
    .filter((s) => !namespace || s['namespace'] === namespace)
    .map((s) => {
      const key = `${s['namespace']}/${s['hostname']}`;
      const eps = dump.workloads.filter((w) => (w['services'] as Obj | undefined)?.[key] !== undefined);
      const healthy = eps.filter((w) => w['status'] === 'HEALTHY').length;
      return [
        String(s['namespace']),
        String(s['name']),
        ((s['addresses'] as string[] | undefined) ?? []).join(',') || 'None',
        waypointName(s['waypoint']),
        `${healthy}/${eps.length}`,
      ];
    })
    .sort((a, b) => a[0]!.localeCompare(b[0]!) || a[1]!.localeCompare(b[1]!));
  return formatTable(['NAMESPACE', 'SERVICE NAME', 'SERVICE VIP', 'WAYPOINT', 'ENDPOINTS'], rows, GAP);
}

const titleCase = (s: string) => s.charAt(0) + s.slice(1).toLowerCase();
const SCOPES: Record<string, string> = { GLOBAL: 'Global', NAMESPACE: 'Namespace', WORKLOAD_SELECTOR: 'WorkloadSelector' };

export function policiesTable(dump: Pick<ConfigDump, 'policies'>, namespace?: string): string {
  const rows = dump.policies
    .filter((p) => !namespace || p['namespace'] === namespace)
    .map((p) => [String(p['namespace']), String(p['name']), titleCase(String(p['action'] ?? 'ALLOW')), SCOPES[String(p['scope'])] ?? String(p['scope'])])
    .sort((a, b) => a[0]!.localeCompare(b[0]!) || a[1]!.localeCompare(b[1]!));
  return formatTable(['NAMESPACE', 'POLICY NAME', 'ACTION', 'SCOPE'], rows, GAP);
}

/** Serial in hex without separators, times as RFC 3339 with whole seconds. */
function certRow(identity: string, type: string, state: string, c: CertificateDump['certChain'][number] | undefined, now: number): string[] {
  if (!c) return [identity, type, state, 'false', '<nil>', 'NA', 'NA'];
  const notBefore = Date.parse(c.validFrom);
  const notAfter = Date.parse(c.expirationTime);
  const valid = now >= notBefore && now < notAfter;
  const t = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return [identity, type, state, String(valid), c.serialNumber.toLowerCase(), t(notAfter), t(notBefore)];
}

export function certificatesTable(certs: CertificateDump[], now = Date.now()): string {
  const rows: string[][] = [];
  for (const c of [...certs].sort((a, b) => a.identity.localeCompare(b.identity))) {
    rows.push(certRow(c.identity, 'Leaf', c.state, c.certChain[0], now));
    rows.push(certRow(c.identity, 'Root', c.state, c.rootCerts[0] ?? (c.certChain.length > 1 ? c.certChain[c.certChain.length - 1] : undefined), now));
  }
  return formatTable(['CERTIFICATE NAME', 'TYPE', 'STATUS', 'VALID CERT', 'SERIAL NUMBER', 'NOT AFTER', 'NOT BEFORE'], rows, GAP);
}

export function connectionsTable(conns: Array<Record<string, unknown>>): string {
  const rows = conns.map((c) => [
    `${c['workload']}.${c['namespace']}`,
    titleCase(String(c['direction'])),
    String(c['local'] ?? ''),
    String(c['remote'] ?? ''),
    String(c['remoteTarget'] ?? ''),
    String(c['protocol'] ?? ''),
  ]);
  return formatTable(['WORKLOAD', 'DIRECTION', 'LOCAL', 'REMOTE', 'REMOTE TARGET', 'PROTOCOL'], rows, GAP);
}


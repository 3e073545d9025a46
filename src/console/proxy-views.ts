// What the console reads from the node proxies and their logs: each proxy's config dump and connections
// (its admin port), and the recent access-log lines of one workload from <state>/logs.
import { existsSync } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isAccessLogFile, logsDir } from '../config/state-layout.js';
import { fetchConfigDump, fetchConnections, type ConfigDump } from '../localrun/node-admin.js';
import type { CertificatesByNode } from './mesh-views.js';
import type { Target } from './metrics-history.js';

/** The tail of each log file read for access lines; older lines are for `l4mesh logs`. */
const LOG_TAIL_BYTES = 256 * 1024;
/** The most lines a details panel gets: the newest, which is what a person looks at first. */
export const MAX_LOG_LINES = 200;

export interface NodeProxyView {
  proxy: string;
  node: string;
  address: string;
  dump: ConfigDump | null;
  /** Why the dump could not be read, '' when it was. */
  error: string;
  connections: Array<Record<string, unknown>>;
}

function hostOf(instance: string): string {
  return instance.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
}

/** Every node proxy the service discovery lists (role ztunnel), with its config dump and open connections. */
export async function nodeProxies(targets: readonly Target[]): Promise<NodeProxyView[]> {
  return Promise.all(
    targets
      .filter((t) => t.role === 'ztunnel')
      .map(async (t) => {
        const address = hostOf(t.instance);
        const [dump, connections] = await Promise.all([fetchConfigDump(address).catch((e: Error) => e), fetchConnections(address).catch(() => [])]);
        return { proxy: t.proxy, node: t.node, address, dump: dump instanceof Error ? null : dump, error: dump instanceof Error ? dump.message : '', connections };
      }),
  );
}

export function certificatesByNode(proxies: readonly NodeProxyView[]): CertificatesByNode {
  return new Map(proxies.map((p) => [p.node, p.dump?.certificates ?? []]));
}

/**
 * True when an access-log line (text `k="v"` or JSON) names one of `pods` in `namespace` as its source or
 * destination: the proxies log the pod's name in `src.workload`/`dst.workload`, as ztunnel does.
 */
export function namesPod(line: string, namespace: string, pods: ReadonlySet<string>): boolean {
  if (line.startsWith('{')) {
    try {
      const o = JSON.parse(line) as Record<string, unknown>;
      return ['src', 'dst'].some((side) => pods.has(String(o[`${side}.workload`])) && o[`${side}.namespace`] === namespace);
    } catch {
      return false;
    }
  }
  const field = (key: string) => new RegExp(`(?:^|\\s)${key.replace('.', '\\.')}="([^"]*)"`).exec(line)?.[1];
  return ['src', 'dst'].some((side) => pods.has(field(`${side}.workload`) ?? '') && field(`${side}.namespace`) === namespace);
}

/**
 * The newest access-log lines naming one of `pods` in `namespace`, oldest first, from every proxy's access log in
 * <state>/logs (`<proxy>.access.log`; the proxies' stdout logs hold the same lines again).
 */
export async function accessLines(stateDir: string, namespace: string, pods: ReadonlySet<string>): Promise<string[]> {
  const dir = logsDir(stateDir);
  if (!existsSync(dir)) return [];
  const lines: string[] = [];
  for (const name of (await readdir(dir)).filter(isAccessLogFile).sort()) {
    const f = await open(join(dir, name), 'r');
    try {
      const { size } = await f.stat();
      const start = Math.max(0, size - LOG_TAIL_BYTES);
      const buf = Buffer.alloc(size - start);
      await f.read(buf, 0, buf.length, start);
      for (const l of buf.toString('utf8').split('\n')) {
        if (!l.includes('\taccess\t') && !l.includes('"scope":"access"')) continue;
        if (namesPod(l, namespace, pods)) lines.push(l);
      }
    } finally {
      await f.close();
    }
  }
  // Both formats start with the RFC 3339 timestamp, so text order is time order.
  return lines.sort().slice(-MAX_LOG_LINES);
}

// `l4mesh ztunnel-config workloads|services|policies|certificates|connections|all|log [PROXY]`: what a node
// proxy holds, read from its admin /config_dump, in istioctl's tables (or -o json|yaml).
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { kindByName } from '../api/kinds.js';
import { PROXY_ADMIN_PORT } from '../config/mesh-constants.js';
import { nodeAddress } from '../localrun/layout.js';
import { fetchConfigDump, fetchConnections, setLogLevel, type ConfigDump, type CertificateDump } from '../localrun/node-admin.js';
import { openContext, runCommand, UsageError, type CliContext } from './cli-context.js';
import { didYouMean } from './suggest.js';
import { certificatesTable, connectionsTable, policiesTable, servicesTable, workloadsTable } from './ztunnel-config-tables.js';

const HELP = `usage: l4mesh ztunnel-config workloads|services|policies|certificates|connections|all [PROXY] [--node node-K] [-n NS] [-o short|json|yaml]
       l4mesh ztunnel-config log [PROXY] --level error|warn|info|debug|trace

Shows what a node proxy holds, from its admin endpoint (:${PROXY_ADMIN_PORT}/config_dump). PROXY is a proxy name
(ztunnel-node-1), a node (node-1) or a pod name (its node's proxy). Workloads, services and policies are
the same on every node, so node-1 answers by default; certificates and connections, without PROXY or
--node, are merged from every node proxy. istioctl's other names work too: workload, w, service, svc,
policy, certificate, certs, secret, connection.
`;

const TYPES = ['workloads', 'services', 'policies', 'certificates', 'connections', 'all', 'log'] as const;
type ConfigType = (typeof TYPES)[number];

/** istioctl's names for each table: singular, plural and short forms all work. */
const ALIASES: Record<string, ConfigType> = {
  workload: 'workloads', workloads: 'workloads', w: 'workloads',
  service: 'services', services: 'services', svc: 'services', s: 'services',
  policy: 'policies', policies: 'policies',
  certificate: 'certificates', certificates: 'certificates', cert: 'certificates', certs: 'certificates', secret: 'certificates', secrets: 'certificates',
  connection: 'connections', connections: 'connections',
  all: 'all',
  log: 'log',
};

/** The table a TYPE argument names, or a usage error naming the nearest one. */
export function configType(word: string | undefined): ConfigType {
  const t = word === undefined ? undefined : ALIASES[word.toLowerCase()];
  if (t) return t;
  if (word === undefined) throw new UsageError(`give one of ${TYPES.join(', ')}`);
  throw new UsageError(`unknown type "${word}"${didYouMean(word, Object.keys(ALIASES)) || `; give one of ${TYPES.join(', ')}`}`);
}

/** The node (1-based) a PROXY argument names, or undefined for "every node". */
async function nodeOf(ctx: CliContext, proxy: string | undefined, nodeFlag: string | undefined, namespace: string): Promise<number | undefined> {
  const word = nodeFlag ?? proxy;
  if (!word) return undefined;
  const m = /^(?:ztunnel-)?node-(\d+)(?:\.istio-system)?$/.exec(word);
  let k: number;
  if (m) k = Number(m[1]);
  else {
    const pod = await ctx.client.get(kindByName('Pod')!, namespace, word.replace(/\.[^.]+$/, (ns) => (word.split('.').length === 2 ? '' : ns)));
    const node = String((pod?.spec as Record<string, unknown> | undefined)?.['nodeName'] ?? '');
    const pm = /^node-(\d+)$/.exec(node);
    if (!pm) throw new UsageError(`"${word}" is neither a node proxy (ztunnel-node-K) nor a pod in namespace "${namespace}"; see "l4mesh status" and "l4mesh get pods"`);
    k = Number(pm[1]);
  }
  if (k < 1 || k > ctx.layout.nodes) throw new UsageError(`node-${k} does not exist: this mesh has node-1..node-${ctx.layout.nodes}`);
  return k;
}

function emit(value: unknown, output: string | undefined, table: () => string): void {
  if (output === 'json') process.stdout.write(JSON.stringify(value, null, 2) + '\n');
  else if (output === 'yaml') process.stdout.write(stringify(value));
  else process.stdout.write(table());
}

export async function run(args: string[]): Promise<number> {
  return runCommand('ztunnel-config', HELP, args, async () => {
    const { values, positionals } = parseArgs({
      args,
      options: {
        node: { type: 'string' },
        namespace: { type: 'string', short: 'n' },
        output: { type: 'string', short: 'o' },
        level: { type: 'string' },
        'state-dir': { type: 'string' },
      },
      allowPositionals: true,
      strict: true,
    });
    const type = configType(positionals[0]);
    const proxy = positionals[1];
    if (values.output && !['short', 'json', 'yaml'].includes(values.output)) throw new UsageError(`-o ${values.output}: use short, json or yaml`);
    const ctx = await openContext(values['state-dir']);
    const k = await nodeOf(ctx, proxy, values.node, values.namespace ?? 'default');
    const nodes = k ? [k] : Array.from({ length: ctx.layout.nodes }, (_, i) => i + 1);
    if (type === 'log') {
      if (!values.level) throw new UsageError('--level is required, e.g. --level debug');
      for (const n of nodes) {
        await setLogLevel(ctx.stateDir, nodeAddress(ctx.layout, n), values.level);
        process.stdout.write(`ztunnel-node-${n}: log level ${values.level}\n`);
      }
      return 0;
    }
    const ns = type === 'certificates' || type === 'connections' ? undefined : values.namespace;
    if (type === 'connections') {
      const all = (await Promise.all(nodes.map((n) => fetchConnections(nodeAddress(ctx.layout, n))))).flat();
      emit(all, values.output, () => connectionsTable(all));
      return 0;
    }
    const primary = await fetchConfigDump(nodeAddress(ctx.layout, k ?? 1));
    let certs: CertificateDump[] = primary.certificates;
    if (!k && (type === 'certificates' || type === 'all') && nodes.length > 1) {
      const seen = new Set(certs.map((c) => c.identity));
      for (const n of nodes.slice(1)) {
        for (const c of (await fetchConfigDump(nodeAddress(ctx.layout, n))).certificates) if (!seen.has(c.identity)) (seen.add(c.identity), certs.push(c));
      }
      certs = [...certs];
    }
    const dump: ConfigDump = { ...primary, certificates: certs };
    switch (type) {
      case 'workloads':
        emit(dump.workloads, values.output, () => workloadsTable(dump, ns));
        break;
      case 'services':
        emit(dump.services, values.output, () => servicesTable(dump, ns));
        break;
      case 'policies':
        emit(dump.policies, values.output, () => policiesTable(dump, ns));
        break;
      case 'certificates':
        emit(dump.certificates, values.output, () => certificatesTable(dump.certificates));
        break;
      case 'all':
        emit(dump, values.output, () =>
          [workloadsTable(dump, ns), servicesTable(dump, ns), policiesTable(dump, ns), certificatesTable(dump.certificates)].join('\n'),
        );
        break;
    }
    return 0;
  });
}

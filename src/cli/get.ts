// `l4mesh get KIND [NAME] [-n NS | -A] [-l SELECTOR] [-o yaml|json|wide|name]` with kubectl's tables and wording.
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { kindByName, qualifiedName, type KindInfo } from '../api/kinds.js';
import type { Resource } from '../api/types.js';
import { formatTable, openContext, runCommand, UsageError, type CliContext } from './cli-context.js';
import { kindOrThrow, pluralName } from './delete.js';
import { COLUMNS, DEFAULT_COLUMNS, isNodeProxyPod, type TableContext } from './get-columns.js';
import { probeReady } from '../localrun/components.js';
import { PROXY_READINESS_PORT } from '../config/mesh-constants.js';

const HELP = `usage: l4mesh get KIND [NAME...] [-n NAMESPACE | -A] [-l SELECTOR] [-o yaml|json|wide|name]

Lists resources with kubectl's columns: get pods (NAME READY STATUS RESTARTS AGE; -o wide adds IP NODE),
get svc (CLUSTER-IP is the VIP the control plane allocated), get deploy, get destinationrules, ...
KIND is a kind, plural, singular or short name (po, svc, deploy, sa, dr, vs, se, we, pa, ap).
`;

const OUTPUTS = ['yaml', 'json', 'wide', 'name'];

async function serviceVips(ctx: CliContext): Promise<Map<string, string>> {
  const dump = await ctx.client.debug<{ services?: Array<{ name: string; namespace: string; addresses?: string[] }> }>('/debug/registryz');
  const vips = new Map<string, string>();
  for (const s of dump.services ?? []) if (s.addresses?.[0] && !vips.has(`${s.namespace}/${s.name}`)) vips.set(`${s.namespace}/${s.name}`, s.addresses[0]);
  return vips;
}

/** Probes each node proxy pod's /healthz/ready now, in parallel (2 s bound each). */
async function nodeProxyReadiness(pods: Resource[]): Promise<Map<string, boolean>> {
  const proxies = pods.filter((p) => isNodeProxyPod(p) && typeof p.status?.['podIP'] === 'string');
  const results = await Promise.all(proxies.map((p) => probeReady(`http://${String(p.status!['podIP'])}:${PROXY_READINESS_PORT}/healthz/ready`)));
  return new Map(proxies.map((p, i) => [`${p.metadata.namespace}/${p.metadata.name}`, results[i]!]));
}

function asList(items: Resource[]): object {
  return { apiVersion: 'v1', items, kind: 'List', metadata: { resourceVersion: '' } };
}

export async function run(args: string[]): Promise<number> {
  return runCommand('get', HELP, args, async () => {
    const { values, positionals } = parseArgs({
      args,
      options: {
        namespace: { type: 'string', short: 'n' },
        'all-namespaces': { type: 'boolean', short: 'A' },
        selector: { type: 'string', short: 'l' },
        output: { type: 'string', short: 'o' },
        'state-dir': { type: 'string' },
      },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length === 0) throw new UsageError('you must specify the type of resource to get, e.g. "l4mesh get pods"');
    if (values.output && !OUTPUTS.includes(values.output)) throw new UsageError(`-o ${values.output}: use one of ${OUTPUTS.join(', ')}`);
    let info: KindInfo;
    let names: string[];
    if (positionals[0]!.includes('/')) {
      const [k, n] = positionals[0]!.split('/', 2);
      info = kindOrThrow(k!);
      names = [n!];
    } else {
      info = kindOrThrow(positionals[0]!);
      names = positionals.slice(1);
    }
    const all = Boolean(values['all-namespaces']) && names.length === 0;
    const ns = values.namespace ?? 'default';
    const ctx = await openContext(values['state-dir']);
    let items: Resource[];
    let missing = 0;
    if (names.length > 0) {
      items = [];
      for (const n of names) {
        const r = await ctx.client.get(info, info.namespaced ? ns : '', n);
        if (r) items.push(r);
        else {
          missing++;
          process.stderr.write(`Error from server (NotFound): ${pluralName(info)} "${n}" not found\n`);
        }
      }
    } else {
      items = await ctx.client.list(info, all || !info.namespaced ? undefined : ns, values.selector);
    }
    items.sort((a, b) => (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') || a.metadata.name.localeCompare(b.metadata.name));
    const output = values.output;
    if (output === 'yaml' || output === 'json') {
      const body = names.length === 1 && items.length === 1 ? items[0] : asList(items);
      if (items.length > 0 || names.length === 0) process.stdout.write(output === 'json' ? JSON.stringify(body, null, 4) + '\n' : stringify(body));
      return missing ? 1 : 0;
    }
    if (output === 'name') {
      for (const r of items) process.stdout.write(`${qualifiedName(info)}/${r.metadata.name}\n`);
      return missing ? 1 : 0;
    }
    if (items.length === 0) {
      if (names.length === 0) process.stderr.write(all || !info.namespaced ? 'No resources found\n' : `No resources found in ${ns} namespace.\n`);
      return missing ? 1 : 0;
    }
    const cols = COLUMNS[info.kind] ?? DEFAULT_COLUMNS;
    const tctx: TableContext = {
      now: Date.now(),
      vips: info.kind === 'Service' ? await serviceVips(ctx) : new Map(),
      pods: info.kind === 'Deployment' ? await ctx.client.list(kindByName('Pod')!, undefined) : [],
      defaultWorkDir: ctx.layout.workDir,
      proxyReady: info.kind === 'Pod' ? await nodeProxyReadiness(items) : undefined,
    };
    const wide = output === 'wide';
    const header = [...(all ? ['NAMESPACE'] : []), ...cols.header, ...(wide && cols.wideHeader ? cols.wideHeader : [])];
    const rows = items.map((r) => [
      ...(all ? [r.metadata.namespace ?? ''] : []),
      ...cols.row(r, tctx),
      ...(wide && cols.wideRow ? cols.wideRow(r, tctx) : []),
    ]);
    process.stdout.write(formatTable(header, rows));
    return missing ? 1 : 0;
  });
}

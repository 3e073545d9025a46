// `l4mesh get KIND [NAME] [-n NS | -A] [-l SELECTOR] [-o yaml|json|wide|name]` with kubectl's tables and wording.
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { kindByName, qualifiedName, type KindInfo } from '../api/kinds.js';
import type { Resource } from '../api/types.js';
import { formatTable, openContext, runCommand, UsageError, type CliContext } from './cli-context.js';
import { kindOrThrow, pluralName } from './delete.js';
import { COLUMNS, DEFAULT_COLUMNS, isNodeProxyPod, type TableContext } from './get-columns.js';
import { CONTROL_PLANE_ANNOTATION } from '../controlplane/proxy-admission.js';
import { probeReady } from '../localrun/components.js';
import { PROXY_READINESS_PORT } from '../config/mesh-constants.js';
import { followChanges, formatRow } from './get-watch.js';

const NODE_PROXY_READINESS_PORT = PROXY_READINESS_PORT;

const HELP = `usage: l4mesh get KIND [NAME...] [-n NAMESPACE | -A] [-l SELECTOR] [-o yaml|json|wide|name] [-w]

Lists resources with kubectl's columns: get pods (NAME READY STATUS RESTARTS AGE; -o wide adds IP NODE),
get svc (CLUSTER-IP is the VIP the control plane allocated), get deploy, get destinationrules, ...
KIND is a kind, plural, singular or short name (po, svc, deploy, sa, dr, vs, se, we, pa, ap).
-w, --watch: after the list, print each change as it happens (the control plane's watch API) until Ctrl-C.
`;

const OUTPUTS = ['yaml', 'json', 'wide', 'name'];
/** How long `get -w` waits for a new Service's VIP before printing its row: 20 × 100 ms. */
const VIP_WAIT_TRIES = 20;
const VIP_WAIT_STEP_MS = 100;

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
        watch: { type: 'boolean', short: 'w' },
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
    let listVersion = '';
    const listNamespace = all || !info.namespaced ? undefined : ns;
    if (values.watch) {
      // One list gives both the objects and the version the watch continues from, so no change falls between.
      const list = await ctx.client.listWithVersion(info, listNamespace, values.selector);
      items = names.length > 0 ? list.items.filter((r) => names.includes(r.metadata.name)) : list.items;
      listVersion = list.resourceVersion;
    } else if (names.length > 0) {
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
      items = await ctx.client.list(info, listNamespace, values.selector);
    }
    items.sort((a, b) => (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') || a.metadata.name.localeCompare(b.metadata.name));
    const output = values.output;
    const cols = COLUMNS[info.kind] ?? DEFAULT_COLUMNS;
    const wide = output === 'wide';
    // Several replicas (`up --ha`): which one each node proxy streams xDS from, from its Pod's annotation.
    const replicaColumn = ctx.layout.ha !== undefined && info.kind === 'Pod';
    const header = [...(all ? ['NAMESPACE'] : []), ...cols.header, ...(wide && cols.wideHeader ? cols.wideHeader : []), ...(replicaColumn ? ['CONTROL PLANE'] : [])];
    const rowsOf = async (rs: Resource[], vips?: Map<string, string>): Promise<string[][]> => {
      const tctx = await tableContext(ctx, info, rs, vips);
      return rs.map((r) => [
        ...(all ? [r.metadata.namespace ?? ''] : []),
        ...cols.row(r, tctx),
        ...(wide && cols.wideRow ? cols.wideRow(r, tctx) : []),
        ...(replicaColumn ? [r.metadata.annotations?.[CONTROL_PLANE_ANNOTATION] ?? '<none>'] : []),
      ]);
    };
    let widths: number[] | undefined;
    if (output === 'yaml' || output === 'json') {
      const body = names.length === 1 && items.length === 1 && !values.watch ? items[0] : asList(items);
      if (items.length > 0 || names.length === 0) process.stdout.write(output === 'json' ? JSON.stringify(body, null, 4) + '\n' : stringify(body));
    } else if (output === 'name') {
      for (const r of items) process.stdout.write(`${qualifiedName(info)}/${r.metadata.name}\n`);
    } else if (items.length === 0) {
      if (names.length === 0) process.stderr.write(all || !info.namespaced ? 'No resources found\n' : `No resources found in ${ns} namespace.\n`);
    } else {
      const rows = await rowsOf(items);
      process.stdout.write(formatTable(header, rows));
      widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    }
    if (!values.watch) return missing ? 1 : 0;
    return followChanges(ctx, {
      info,
      namespace: listNamespace,
      labelSelector: values.selector,
      names,
      resourceVersion: listVersion,
      print: async (r) => {
        if (output === 'json') process.stdout.write(JSON.stringify(r, null, 4) + '\n');
        else if (output === 'yaml') process.stdout.write('---\n' + stringify(r));
        else if (output === 'name') process.stdout.write(`${qualifiedName(info)}/${r.metadata.name}\n`);
        else {
          // A new Service's VIP is allocated just after its write: give the registry a moment (bounded) so the
          // row shows its CLUSTER-IP, as the list does, rather than <none>.
          let vips: Map<string, string> | undefined;
          for (let i = 0; info.kind === 'Service' && i < VIP_WAIT_TRIES; i++) {
            vips = await serviceVips(ctx);
            if (vips.has(`${r.metadata.namespace ?? 'default'}/${r.metadata.name}`)) break;
            await new Promise((resolve) => setTimeout(resolve, VIP_WAIT_STEP_MS));
          }
          const [row] = await rowsOf([r], vips);
          if (!widths) {
            widths = header.map((h, i) => Math.max(h.length, (row![i] ?? '').length));
            process.stdout.write(formatTable(header, [row!]));
          } else process.stdout.write(formatRow(widths, row!));
        }
      },
    });
  });
}

/** `vips`: the registry's VIPs when the caller has just read them (get -w waits for a new Service's VIP). */
async function tableContext(ctx: CliContext, info: KindInfo, items: Resource[], vips?: Map<string, string>): Promise<TableContext> {
  return {
    now: Date.now(),
    vips: info.kind === 'Service' ? (vips ?? (await serviceVips(ctx))) : new Map(),
    pods: info.kind === 'Deployment' ? await ctx.client.list(kindByName('Pod')!, undefined) : [],
    defaultWorkDir: ctx.layout.workDir,
    proxyReady: info.kind === 'Pod' ? await nodeProxyReadiness(items) : undefined,
  };
}

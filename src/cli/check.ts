// `l4mesh check connectivity FROM TO [--port P] [--dry-run] [-o json]`: why can't A reach B, hop by hop.
import { parseArgs } from 'node:util';
import type { MeshAuthorization, MeshService, MeshWorkload } from '../api/mesh.js';
import { explainPath, type PathReport } from '../connectivity/path.js';
import { KINDS } from '../api/kinds.js';
import { analyze } from '../analysis/analyze.js';
import { findingsFor, withFindings } from '../connectivity/evidence.js';
import { L4meshError } from '../errors/index.js';
import { nodeAddress } from '../localrun/layout.js';
import { fetchConfigDump, podUid } from '../localrun/node-admin.js';
import { formatTable, openContext, runCommand, UsageError } from './cli-context.js';
import { resolvePods } from './pod-target.js';
import { probePath } from './check-probe.js';

/** Exit code when the path (or the probe) fails: scripts tell it from a usage error (2). */
export const EXIT_CHECK_FAILED = 1;
const HELP = `usage: l4mesh check connectivity FROM TO [--port P] [--dry-run] [-v] [-n NAMESPACE] [-o table|json]

Sends one real connection from FROM's place in the mesh to TO and prints the path it took, hop by hop
(capture, resolve, endpoints, waypoint, tunnel, policy, dial), with a verdict per hop; a failed hop ends
with its most likely cause and the command that shows more. -v adds under each hop what the proxies on the
path recorded for the probe's trace (their admin /debug/trace?id=): the endpoint chosen and why others were
skipped, whether the HBONE connection was new or reused, the policy and rule that decided, bytes each way,
and what "l4mesh analyze" finds wrong with the target's configuration; -o json always has all of it.
An HTTP port gets one "GET /" (any answer, even 404, proves the path) so bytes flow both ways.
--dry-run answers from configuration alone.
FROM: POD, pod/POD or deploy/NAME. TO: a service (NAME, svc/NAME, NAME.NS, FQDN), pod/NAME or IP[:PORT].
Exits ${EXIT_CHECK_FAILED} when the connection fails.
`;

function nodeIndex(node: string): number {
  const m = /^node-(\d+)$/.exec(node);
  if (!m) throw new L4meshError('L4MESH_ERR_NOT_FOUND', `the source runs on no node proxy ("${node}"): see "l4mesh get pods -o wide"`);
  return Number(m[1]);
}

function table(report: PathReport, verbose: boolean): string {
  const rows: string[][] = [];
  for (const h of report.hops) {
    rows.push([h.step.toUpperCase(), h.verdict, h.detail]);
    if (h.cause) rows.push(['', '', `cause: ${h.cause}`]);
    if (h.next) rows.push(['', '', `more: ${h.next}`]);
    if (verbose) for (const e of h.evidence ?? []) rows.push(['', '', `seen: ${e}`]);
  }
  return formatTable(['HOP', 'VERDICT', 'DETAIL'], rows) + (report.ok ? 'connectivity OK\n' : 'connectivity FAILED\n');
}

export async function run(args: string[]): Promise<number> {
  return runCommand('check', HELP, args, async () => {
    const { values, positionals } = parseArgs({
      args,
      options: {
        port: { type: 'string', short: 'p' },
        'dry-run': { type: 'boolean' },
        verbose: { type: 'boolean', short: 'v' },
        namespace: { type: 'string', short: 'n' },
        output: { type: 'string', short: 'o' },
        'state-dir': { type: 'string' },
      },
      allowPositionals: true,
      strict: true,
    });
    if (positionals[0] !== 'connectivity') throw new UsageError(`give "connectivity FROM TO"${positionals[0] ? `, not "${positionals[0]}"` : ''}`);
    const [, from, to] = positionals;
    if (!from || !to) throw new UsageError('give FROM and TO, e.g. "l4mesh check connectivity deploy/productpage-v1 ratings"');
    const port = values.port === undefined ? undefined : Number(values.port);
    if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) throw new UsageError(`--port ${values.port}: give a port number`);
    const output = values.output ?? 'table';
    if (!['table', 'json'].includes(output)) throw new UsageError(`-o ${output}: use table or json`);
    const ns = values.namespace ?? 'default';
    const ctx = await openContext(values['state-dir']);
    const pod = (await resolvePods(ctx, from, ns))[0]!;
    const node = nodeIndex(String((pod.spec as Record<string, unknown> | undefined)?.['nodeName'] ?? ''));
    const address = nodeAddress(ctx.layout, node);
    const dump = await fetchConfigDump(address);
    const view = { workloads: dump.workloads as unknown as MeshWorkload[], services: dump.services as unknown as MeshService[], policies: dump.policies as unknown as MeshAuthorization[] };
    const sourceUid = podUid(pod.metadata.namespace ?? ns, pod.metadata.name);
    // The capture hop says how the source's connections reach its proxy, as that proxy reports it.
    const mode = dump.config['captureMode'] === 'netns' ? 'netns' : 'local';
    let report = explainPath(view, { sourceUid, target: to, ...(port !== undefined ? { port } : {}), mode });
    if (!values['dry-run'] && report.hops.some((h) => h.step === 'resolve' && h.verdict === 'OK')) {
      report = await probePath({ stateDir: ctx.stateDir, layout: ctx.layout, pod, node, services: view.services }, report);
    }
    // What analyze finds wrong with the target's configuration explains a hop from the other side.
    const target = report.service;
    if (target) {
      const resources = (await Promise.all(KINDS.map((k) => ctx.client.list(k, undefined)))).flat();
      report = withFindings(report, findingsFor(analyze(resources, { namespaces: [target.namespace] }), target), values['dry-run'] === true);
    }
    if (output === 'json') process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else process.stdout.write(table(report, values.verbose === true));
    return report.ok ? 0 : EXIT_CHECK_FAILED;
  });
}

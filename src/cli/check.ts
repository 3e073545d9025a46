// `l4mesh check connectivity FROM TO [--port P] [--dry-run] [-o json]`: why can't A reach B, hop by hop.
import { parseArgs } from 'node:util';
import type { MeshAuthorization, MeshService, MeshWorkload } from '../api/mesh.js';
import { explainPath, type Hop, type PathReport } from '../connectivity/path.js';
import { accessLines, hopOfError, portOf, probe, type AccessLine, type ProbeResult } from '../connectivity/probe.js';
import { L4meshError } from '../errors/index.js';
import { componentLogFile } from '../config/state-layout.js';
import { ztunnelName } from '../localrun/components.js';
import { nodeAddress } from '../localrun/layout.js';
import { fetchCapture, fetchConfigDump, podUid } from '../localrun/node-admin.js';
import { formatTable, openContext, runCommand, UsageError } from './cli-context.js';
import { resolvePods } from './pod-target.js';

/** Exit code when the path (or the probe) fails: scripts tell it from a usage error (2). */
export const EXIT_CHECK_FAILED = 1;
/** How long to wait for the proxies' access-log lines of the probe (they are written at close). */
const ACCESS_LOG_WAIT_MS = 10_000;

const HELP = `usage: l4mesh check connectivity FROM TO [--port P] [--dry-run] [-n NAMESPACE] [-o table|json]

Sends one real connection from FROM's place in the mesh to TO and prints the path it took, hop by hop
(capture, resolve, endpoints, waypoint, tunnel, policy, dial), with a verdict per hop; a failed hop ends
with its most likely cause and the command that shows more. --dry-run answers from configuration alone.
FROM: POD, pod/POD or deploy/NAME. TO: a service (NAME, svc/NAME, NAME.NS, FQDN), pod/NAME or IP[:PORT].
Exits ${EXIT_CHECK_FAILED} when the connection fails.
`;

function nodeIndex(node: string): number {
  const m = /^node-(\d+)$/.exec(node);
  if (!m) throw new L4meshError('L4MESH_ERR_NOT_FOUND', `the source runs on no node proxy ("${node}"): see "l4mesh get pods -o wide"`);
  return Number(m[1]);
}

/** Folds what the probe saw into the configured path: a failure there overrides the hop it names. */
function withProbe(report: PathReport, result: ProbeResult, lines: AccessLine[]): PathReport {
  const hops: Hop[] = report.hops.map((h) => ({ ...h }));
  // The destination's line names the deciding policy or the refused dial; the source's only the HTTP status.
  const failed = lines.find((l) => l.fields['error'] !== undefined && l.fields['direction'] === 'inbound') ?? lines.find((l) => l.fields['error'] !== undefined);
  const ok = result.outcome === 'held' && !failed;
  if (failed) {
    const { step, cause } = hopOfError(failed.fields['error']!);
    const next = `l4mesh logs ztunnel --node ${failed.node}`;
    const at = hops.findIndex((h) => h.step === step);
    const configured = hops[at];
    // Configuration already named the cause of this hop (e.g. the denying policy): keep it, add the evidence.
    const hop: Hop =
      configured?.verdict === 'FAIL'
        ? { ...configured, detail: `${configured.detail}; ${failed.node}'s access log: error="${failed.fields['error']}"` }
        : { step, verdict: 'FAIL', detail: `${failed.node}'s node proxy: error="${failed.fields['error']}"`, cause, next };
    if (at >= 0) hops.splice(at, hops.length - at, hop);
    else hops.push(hop);
  } else if (!ok && !report.ok) {
    hops.push({ step: 'dial', verdict: 'INFO', detail: `the probe connection was ${result.outcome} after ${result.elapsedMs} ms, as the configuration says it would be` });
  } else if (!ok) {
    hops.push({ step: 'dial', verdict: 'FAIL', detail: `the probe connection was ${result.outcome} after ${result.elapsedMs} ms`, cause: 'the connection ended without an access-log line naming why', next: 'l4mesh logs ztunnel' });
  } else {
    const sent = lines.map((l) => `${l.node} ${l.fields['direction']} sent=${l.fields['bytes_sent']} recv=${l.fields['bytes_recv']}`).join('; ');
    const last = hops[hops.length - 1];
    if (last?.step === 'dial') hops.pop();
    hops.push({ step: 'dial', verdict: 'OK', detail: `connected and held ${result.elapsedMs} ms, ${result.bytesReceived} bytes received${sent ? `; access log: ${sent}` : ''}` });
  }
  return { ...report, ok: ok && report.ok, hops };
}

function table(report: PathReport): string {
  const rows: string[][] = [];
  for (const h of report.hops) {
    rows.push([h.step.toUpperCase(), h.verdict, h.detail]);
    if (h.cause) rows.push(['', '', `cause: ${h.cause}`]);
    if (h.next) rows.push(['', '', `more: ${h.next}`]);
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
    let report = explainPath(view, { sourceUid, target: to, ...(port !== undefined ? { port } : {}), mode: 'local' });
    const resolved = report.hops.find((h) => h.step === 'resolve' && h.verdict === 'OK');
    if (!values['dry-run'] && resolved) {
      const service = /→ service ([^/]+)\/(\S+),/.exec(resolved.detail);
      if (!service) {
        report.hops.push({ step: 'capture', verdict: 'INFO', detail: 'local mode captures connections to services only: a pod or IP target is answered from configuration (as --dry-run)' });
      } else {
        const mapping = (await fetchCapture(address)).find((m) => m.workloadUid === sourceUid && m.hostname === service[2] && m.servicePort === report.port);
        if (!mapping) {
          report = { ...report, ok: false, hops: [...report.hops, { step: 'capture', verdict: 'FAIL', detail: `no outbound listener on node-${node} for ${pod.metadata.name} → ${service[2]}:${report.port}`, cause: 'the node proxy has not (yet) opened the listener for this workload and service', next: `l4mesh ztunnel-config all --node node-${node} -o json` }] };
        } else {
          const result = await probe(mapping);
          const files = Array.from({ length: ctx.layout.nodes }, (_, i) => ({ node: `node-${i + 1}`, file: componentLogFile(ctx.stateDir, ztunnelName(i + 1)) }));
          // Both proxies log the probe's own source port in src.addr (the source proxy with the CLI's address).
          const mine = (f: Record<string, string>) => f['src.workload'] === pod.metadata.name && portOf(f['src.addr']) === result.localPort;
          const deadline = Date.now() + ACCESS_LOG_WAIT_MS;
          let lines = await accessLines(files, result.startedAt, mine);
          // Both ends log at close: wait (bounded) for the source's line, and for the destination's when the
          // source's names a destination proxy it tunnelled to (dst.hbone_addr).
          const complete = () => {
            const out = lines.find((l) => l.fields['direction'] === 'outbound');
            return out !== undefined && (out.fields['dst.hbone_addr'] === undefined || lines.some((l) => l.fields['direction'] === 'inbound'));
          };
          while (Date.now() < deadline && !complete()) {
            await new Promise((r) => setTimeout(r, 200));
            lines = await accessLines(files, result.startedAt, mine);
          }
          report = withProbe(report, result, lines);
        }
      }
    }
    if (output === 'json') process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else process.stdout.write(table(report));
    return report.ok ? 0 : EXIT_CHECK_FAILED;
  });
}

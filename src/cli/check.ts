// `l4mesh check connectivity FROM TO [--port P] [--dry-run] [-o json]`: why can't A reach B, hop by hop.
import { parseArgs } from 'node:util';
import type { MeshAuthorization, MeshService, MeshWorkload } from '../api/mesh.js';
import { explainPath, type Hop, type PathReport } from '../connectivity/path.js';
import { accessLines, freeLocalPort, hopOfError, httpProbeRequest, portOf, probe, PROBE_LOCAL_ADDRESS, type AccessLine, type ProbeResult } from '../connectivity/probe.js';
import { KINDS } from '../api/kinds.js';
import { analyze } from '../analysis/analyze.js';
import { findingsFor, newTraceId, pathDecisions, traceComplete, withFindings, withTrace } from '../connectivity/evidence.js';
import type { TraceDecision } from '../dataplane/trace/trace-store.js';
import { L4meshError } from '../errors/index.js';
import { componentLogFile } from '../config/state-layout.js';
import { ztunnelName } from '../localrun/components.js';
import { nodeAddress } from '../localrun/layout.js';
import { armTrace, fetchCapture, fetchConfigDump, fetchTrace, podUid } from '../localrun/node-admin.js';
import { formatTable, openContext, runCommand, UsageError } from './cli-context.js';
import { resolvePods } from './pod-target.js';

/** Exit code when the path (or the probe) fails: scripts tell it from a usage error (2). */
export const EXIT_CHECK_FAILED = 1;
/** How long to wait for the proxies' access-log lines and trace records of the probe (both are complete at close). */
const ACCESS_LOG_WAIT_MS = 10_000;
/** Between two reads of the logs and traces while waiting for them. */
const EVIDENCE_POLL_MS = 200;
/** Local ports tried for the probe: one taken between choosing and binding it is rare, three in a row is not a race. */
const PROBE_BIND_ATTEMPTS = 3;

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

/** Folds what the probe saw into the configured path: a failure there overrides the hop it names. */
function withProbe(report: PathReport, result: ProbeResult, lines: AccessLine[]): PathReport {
  const hops: Hop[] = report.hops.map((h) => ({ ...h }));
  // The destination's line names the deciding policy or the refused dial; the source's only the HTTP status.
  const failed = lines.find((l) => l.fields['error'] !== undefined && l.fields['direction'] === 'inbound') ?? lines.find((l) => l.fields['error'] !== undefined);
  const ok = (result.outcome === 'held' || result.outcome === 'answered') && !failed;
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
    hops.push({ step: 'dial', verdict: 'INFO', detail: `the probe connection was ${result.outcome} after ${result.elapsedMs}ms, as the configuration says it would be` });
  } else if (!ok) {
    hops.push({ step: 'dial', verdict: 'FAIL', detail: `the probe connection was ${result.outcome} after ${result.elapsedMs}ms`, cause: 'the connection ended without an access-log line naming why', next: 'l4mesh logs ztunnel' });
  } else {
    const sent = lines.map((l) => `${l.node} ${l.fields['direction']} sent=${l.fields['bytes_sent']} recv=${l.fields['bytes_recv']}`).join('; ');
    const last = hops[hops.length - 1];
    if (last?.step === 'dial') hops.pop();
    const how = result.outcome === 'answered' ? `sent ${result.bytesSent} bytes, answered "${result.firstLine ?? ''}" (${result.bytesReceived} bytes) and closed after ${result.elapsedMs}ms` : `connected and held ${result.elapsedMs}ms, ${result.bytesReceived} bytes received`;
    hops.push({ step: 'dial', verdict: 'OK', detail: `${how}${sent ? `; access log: ${sent}` : ''}` });
  }
  return { ...report, ok: ok && report.ok, hops };
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
    const resolved = report.hops.find((h) => h.step === 'resolve' && h.verdict === 'OK');
    if (!values['dry-run'] && resolved) {
      const service = /→ service ([^/]+)\/(\S+),/.exec(resolved.detail);
      if (!service) {
        report.hops.push({ step: 'capture', verdict: 'INFO', detail: 'local mode captures connections to services only: a pod or IP target is answered from configuration (as --dry-run)' });
      } else if (report.hops[0]?.verdict === 'WARN') {
        // Outside the mesh, the source's connections bypass its node proxy: there is no place to probe from.
        report.hops[0] = { ...report.hops[0], detail: `${report.hops[0].detail}; not probed: no node proxy carries its connections, so this is answered from configuration (as --dry-run)` };
      } else {
        const mapping = (await fetchCapture(address)).find((m) => m.workloadUid === sourceUid && m.hostname === service[2] && m.servicePort === report.port);
        if (!mapping) {
          report = { ...report, ok: false, hops: [...report.hops, { step: 'capture', verdict: 'FAIL', detail: `no outbound listener on node-${node} for ${pod.metadata.name} → ${service[2]}:${report.port}`, cause: 'the node proxy has not (yet) opened the listener for this workload and service', next: `l4mesh ztunnel-config all --node node-${node} -o json` }] };
        } else {
          // The source proxy traces the connection from this address and port: its decisions, and those of
          // every proxy the sampled traceparent reaches, are on their admin ports under the trace id.
          const traceId = newTraceId();
          const svc = view.services.find((s) => `${s.namespace}/${s.hostname}` === `${service[1]}/${service[2]}`);
          const http = svc?.ports.find((p) => p.servicePort === report.port)?.appProtocol === 'HTTP11';
          let result: ProbeResult | undefined;
          // The chosen port can be taken before the probe binds it; another one is armed then (bounded).
          for (let attempt = 0; attempt < PROBE_BIND_ATTEMPTS && (!result || result.addressInUse); attempt++) {
            const localPort = await freeLocalPort();
            await armTrace(ctx.stateDir, address, traceId, `${PROBE_LOCAL_ADDRESS}:${localPort}`);
            result = await probe(mapping, { localAddress: PROBE_LOCAL_ADDRESS, localPort, ...(http ? { payload: httpProbeRequest(service[2]!) } : {}) });
          }
          const probed = result!;
          const files = Array.from({ length: ctx.layout.nodes }, (_, i) => ({ node: `node-${i + 1}`, file: componentLogFile(ctx.stateDir, ztunnelName(i + 1)) }));
          const nodeAddrs = Array.from({ length: ctx.layout.nodes }, (_, i) => nodeAddress(ctx.layout, i + 1));
          const proxies = [...nodeAddrs, ...(report.waypointAddresses ?? [])];
          // Both proxies log the probe's own source port in src.addr (the source proxy with the CLI's address).
          const mine = (f: Record<string, string>) => f['src.workload'] === pod.metadata.name && portOf(f['src.addr']) === probed.localPort;
          const deadline = Date.now() + ACCESS_LOG_WAIT_MS;
          const traces = async (): Promise<TraceDecision[]> => pathDecisions((await Promise.all(proxies.map((a) => fetchTrace(a, traceId).catch(() => undefined)))).flatMap((r) => (r ? [r] : [])));
          let lines = await accessLines(files, probed.startedAt, mine);
          let decisions = await traces();
          // Both ends log at close: wait (bounded) for the source's line, and for the destination's when the
          // source's names a destination proxy it tunnelled to (dst.hbone_addr); the same for the traces.
          const complete = () => {
            const out = lines.find((l) => l.fields['direction'] === 'outbound');
            // Only node proxies write these logs: a tunnel to a waypoint has no inbound line to wait for.
            const far = out?.fields['dst.hbone_addr']?.replace(/:\d+$/, '');
            return out !== undefined && (far === undefined || !nodeAddrs.includes(far) || lines.some((l) => l.fields['direction'] === 'inbound')) && traceComplete(decisions);
          };
          while (Date.now() < deadline && !complete()) {
            await new Promise((r) => setTimeout(r, EVIDENCE_POLL_MS));
            lines = await accessLines(files, probed.startedAt, mine);
            decisions = await traces();
          }
          report = withTrace(withProbe(report, probed, lines), traceId, decisions);
        }
      }
    }
    // What analyze finds wrong with the target's configuration explains a hop from the other side.
    const target = /→ service ([^/]+)\/(\S+),/.exec(report.hops.find((h) => h.step === 'resolve' && h.verdict === 'OK')?.detail ?? '');
    if (target) {
      const resources = (await Promise.all(KINDS.map((k) => ctx.client.list(k, undefined)))).flat();
      const hostname = target[2]!;
      report = withFindings(report, findingsFor(analyze(resources, { namespaces: [target[1]!] }), { name: hostname.split('.')[0]!, hostname, namespace: target[1]! }));
    }
    if (output === 'json') process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else process.stdout.write(table(report, values.verbose === true));
    return report.ok ? 0 : EXIT_CHECK_FAILED;
  });
}

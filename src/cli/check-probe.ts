// The probe half of `l4mesh check connectivity`: where one real connection starts (the source's outbound
// listener, its pod's namespace, or plaintext from outside the mesh), which proxy is told to trace it, and
// the access-log lines and trace decisions it left, folded into the configured path.
import type { Socket } from 'node:net';
import type { Resource } from '../api/types.js';
import type { MeshService } from '../api/mesh.js';
import { INBOUND_PORT } from '../config/mesh-constants.js';
import { componentLogFile } from '../config/state-layout.js';
import type { Hop, PathReport } from '../connectivity/path.js';
import { newTraceId, pathDecisions, traceComplete, withTrace } from '../connectivity/evidence.js';
import { accessLines, freeLocalPort, hopOfError, httpProbeRequest, plaintextConnectPreamble, portOf, probe, PROBE_LOCAL_ADDRESS, type AccessLine, type ProbeOptions, type ProbeResult, type ProbeTarget } from '../connectivity/probe.js';
import { connectingSocketInNetns } from '../dataplane/capture/netns/native.js';
import type { TraceDecision } from '../dataplane/trace/trace-store.js';
import { ztunnelName } from '../localrun/components.js';
import { nodeAddress, type Layout } from '../localrun/layout.js';
import { armTrace, fetchCapture, fetchTrace, podUid } from '../localrun/node-admin.js';
import { podNetns } from '../localrun/netns-network.js';

/** How long to wait for the proxies' access-log lines and trace records of the probe (both are complete at close). */
const ACCESS_LOG_WAIT_MS = 10_000;
/** Between two reads of the logs and traces while waiting for them. */
const EVIDENCE_POLL_MS = 200;
/** Local ports tried for the probe: one taken between choosing and binding it is rare, three in a row is not a race. */
const PROBE_BIND_ATTEMPTS = 3;
/**
 * Ports a probe from inside a pod's namespace binds: below Linux's ephemeral range (32768–60999), so the
 * pod's own connections never hold one; a taken one is retried with another (PROBE_BIND_ATTEMPTS).
 */
const NETNS_PROBE_PORTS = { first: 20_000, count: 10_000 };

export interface ProbeContext {
  stateDir: string;
  layout: Layout;
  /** The source pod and the index of its node. */
  pod: Resource;
  node: number;
  /** The target's services as the source's proxy holds them (for the probe's HTTP request). */
  services: readonly MeshService[];
}

/** Where the probe starts and which proxy traces it: the source's (`outbound`), or the destination's for plaintext. */
interface ProbePlan {
  target: ProbeTarget;
  /** The address the probe binds: the proxy that traces it knows the connection by this address and the port. */
  localIp: string;
  /** The node proxy armed for the trace, and whose line and trace are the probe's first. */
  armAt: string;
  first: 'outbound' | 'inbound';
  options: Pick<ProbeOptions, 'payload' | 'preamble' | 'open'>;
  /** What the capture hop adds about where the probe came from. */
  how?: string;
}

const nodeIndexOf = (node: string) => Number(/^node-(\d+)$/.exec(node)?.[1] ?? NaN);

/** How this path can be probed, or why it cannot be (a hop saying so, answered from configuration). */
async function plan(ctx: ProbeContext, report: PathReport): Promise<ProbePlan | Hop> {
  const resolved = report.service;
  const svc = resolved ? ctx.services.find((s) => s.hostname === resolved.hostname && s.namespace === resolved.namespace) : undefined;
  const http = svc?.ports.find((p) => p.servicePort === report.port)?.appProtocol === 'HTTP11';
  const payload = http ? { payload: httpProbeRequest(svc!.hostname) } : {};
  const podIp = String(ctx.pod.status?.['podIP'] ?? '');
  const netns = podNetns(ctx.pod);
  const open = netns ? { open: (t: ProbeTarget, local: { address?: string; port?: number }): Socket => connectingSocketInNetns(netns, t.host, t.port, { ip: local.address ?? podIp, port: local.port ?? 0 }) } : {};
  const enrolled = report.sourceInMesh !== false;
  const endpoint = report.endpoint;
  if (!enrolled) {
    // Outside the mesh the source meets no proxy of its own: it reaches the destination's in plaintext, which
    // traces it by the pod address it comes from. Nothing to probe when no node proxy takes the destination's
    // traffic (it is outside the mesh too, or behind a sidecar, which takes no plaintext).
    const dstNode = endpoint ? nodeIndexOf(endpoint.node) : NaN;
    if (!endpoint) return { step: 'capture', verdict: 'INFO', detail: 'not probed: there is no endpoint to connect to' };
    if (endpoint.tunnel !== 'HBONE' || !Number.isInteger(dstNode)) {
      return { step: 'capture', verdict: 'INFO', detail: 'not probed: no node proxy carries this connection, so it is answered from configuration (as --dry-run)' };
    }
    const armAt = nodeAddress(ctx.layout, dstNode);
    if (netns) {
      return { target: { host: endpoint.address, port: endpoint.port }, localIp: podIp, armAt, first: 'inbound', options: { ...payload, ...open }, how: `probed as it connects: plaintext from its pod IP ${podIp} to ${endpoint.address}:${endpoint.port}, redirected in the destination's pod to ${endpoint.node}'s INBOUND_PORT` };
    }
    return {
      target: { host: armAt, port: INBOUND_PORT },
      localIp: podIp,
      armAt,
      first: 'inbound',
      options: { ...payload, preamble: plaintextConnectPreamble(endpoint.address, endpoint.port) },
      how: `probed as it connects: plaintext from its pod IP ${podIp}, CONNECT ${endpoint.address}:${endpoint.port} to ${endpoint.node}'s INBOUND_PORT`,
    };
  }
  const armAt = nodeAddress(ctx.layout, ctx.node);
  if (netns) {
    // In-pod redirect captures a VIP and a pod IP alike: connect to what the workload itself would.
    const to = svc ? { host: svc.addresses[0] ?? '', port: report.port! } : endpoint ? { host: endpoint.address, port: endpoint.port } : undefined;
    if (!to?.host) return { step: 'capture', verdict: 'INFO', detail: 'not probed: the target has no address to connect to' };
    return { target: to, localIp: podIp, armAt, first: 'outbound', options: { ...payload, ...open } };
  }
  if (!svc) return { step: 'capture', verdict: 'INFO', detail: 'local mode captures connections to services only: a pod or IP target is answered from configuration (as --dry-run)' };
  const uid = podUid(ctx.pod.metadata.namespace ?? 'default', ctx.pod.metadata.name);
  const mapping = (await fetchCapture(armAt)).find((m) => m.workloadUid === uid && m.hostname === svc.hostname && m.servicePort === report.port);
  if (!mapping) {
    return { step: 'capture', verdict: 'FAIL', detail: `no outbound listener on node-${ctx.node} for ${ctx.pod.metadata.name} → ${svc.hostname}:${report.port}`, cause: 'the node proxy has not (yet) opened the listener for this workload and service', next: `l4mesh ztunnel-config all --node node-${ctx.node} -o json` };
  }
  return { target: { host: mapping.listenAddress, port: mapping.listenPort }, localIp: PROBE_LOCAL_ADDRESS, armAt, first: 'outbound', options: payload };
}

/** A port to bind the probe to: the kernel's pick on the host; from a pod's namespace, one of NETNS_PROBE_PORTS. */
function localPortFor(ctx: ProbeContext, localIp: string): Promise<number> {
  if (podNetns(ctx.pod)) return Promise.resolve(NETNS_PROBE_PORTS.first + Math.floor(Math.random() * NETNS_PROBE_PORTS.count));
  return freeLocalPort(localIp);
}

/** Sends the probe, waits (bounded) for its evidence, and folds it into `report`. */
export async function probePath(ctx: ProbeContext, report: PathReport): Promise<PathReport> {
  const p = await plan(ctx, report);
  if ('step' in p) return { ...report, ...(p.verdict === 'FAIL' ? { ok: false } : {}), hops: [...report.hops, p] };
  if (p.how && report.hops[0]) report = { ...report, hops: [{ ...report.hops[0], detail: `${report.hops[0].detail}; ${p.how}` }, ...report.hops.slice(1)] };
  // The proxy that meets the probe first traces it from this address and port: its decisions, and those of
  // every proxy the sampled traceparent reaches, are on their admin ports under the trace id.
  const traceId = newTraceId();
  let result: ProbeResult | undefined;
  // The chosen port can be taken before the probe binds it; another one is armed then (bounded).
  for (let attempt = 0; attempt < PROBE_BIND_ATTEMPTS && (!result || result.addressInUse); attempt++) {
    const localPort = await localPortFor(ctx, p.localIp);
    await armTrace(ctx.stateDir, p.armAt, traceId, `${p.localIp}:${localPort}`);
    result = await probe(p.target, { localAddress: p.localIp, localPort, ...p.options });
  }
  const probed = result!;
  const nodes = Array.from({ length: ctx.layout.nodes }, (_, i) => i + 1);
  const files = nodes.map((k) => ({ node: `node-${k}`, file: componentLogFile(ctx.stateDir, ztunnelName(k)) }));
  const proxies = [...nodes.map((k) => nodeAddress(ctx.layout, k)), ...(report.waypointAddresses ?? [])];
  // The proxies log the probe's own source port in src.addr (a source proxy in local mode with the CLI's address).
  const mine = (f: Record<string, string>) => f['src.workload'] === ctx.pod.metadata.name && portOf(f['src.addr']) === probed.localPort;
  const deadline = Date.now() + ACCESS_LOG_WAIT_MS;
  const traces = async (): Promise<TraceDecision[]> => pathDecisions((await Promise.all(proxies.map((a) => fetchTrace(a, traceId).catch(() => undefined)))).flatMap((r) => (r ? [r] : [])));
  let lines = await accessLines(files, probed.startedAt, mine);
  let decisions = await traces();
  // Both ends log at close: wait (bounded) for the first proxy's line, and for the destination's when the
  // source's says it tunnelled (dst.hbone_addr is set; dst.addr is then where the tunnel went); the same
  // for the traces.
  const complete = () => {
    const out = lines.find((l) => l.fields['direction'] === p.first);
    if (p.first === 'inbound') return out !== undefined && traceComplete(decisions, 'inbound');
    // Only node proxies write these logs: a tunnel to a waypoint has no inbound line to wait for.
    const far = out?.fields['dst.hbone_addr'] !== undefined ? out.fields['dst.addr']?.replace(/:\d+$/, '') : undefined;
    const waypoint = far !== undefined && (report.waypointAddresses ?? []).includes(far);
    return out !== undefined && (far === undefined || waypoint || lines.some((l) => l.fields['direction'] === 'inbound')) && traceComplete(decisions);
  };
  while (Date.now() < deadline && !complete()) {
    await new Promise((r) => setTimeout(r, EVIDENCE_POLL_MS));
    lines = await accessLines(files, probed.startedAt, mine);
    decisions = await traces();
  }
  return withTrace(withProbe(report, probed, lines), traceId, decisions);
}

/** Folds what the probe saw into the configured path: a failure there overrides the hop it names. */
export function withProbe(report: PathReport, result: ProbeResult, lines: AccessLine[]): PathReport {
  const hops: Hop[] = report.hops.map((h) => ({ ...h }));
  // The destination's line names the deciding policy or the refused dial; the source's only the HTTP status.
  const failed = lines.find((l) => l.fields['error'] !== undefined && l.fields['direction'] === 'inbound') ?? lines.find((l) => l.fields['error'] !== undefined);
  const ok = (result.outcome === 'held' || result.outcome === 'answered') && !failed;
  const proxySaid = result.proxyAnswer ? ` (the node proxy answered its CONNECT "${result.proxyAnswer}")` : '';
  if (failed) {
    const { step, cause } = hopOfError(failed.fields['error']!);
    const next = `l4mesh logs ztunnel --node ${failed.node}`;
    const at = hops.findIndex((h) => h.step === step);
    const configured = hops[at];
    // Configuration already named the cause of this hop (e.g. the denying policy): keep it, add the evidence.
    const hop: Hop =
      configured?.verdict === 'FAIL'
        ? { ...configured, detail: `${configured.detail}; ${failed.node}'s access log: error="${failed.fields['error']}"${proxySaid}` }
        : { step, verdict: 'FAIL', detail: `${failed.node}'s node proxy: error="${failed.fields['error']}"${proxySaid}`, cause, next };
    if (at >= 0) hops.splice(at, hops.length - at, hop);
    else hops.push(hop);
  } else if (!ok && !report.ok) {
    hops.push({ step: 'dial', verdict: 'INFO', detail: `the probe connection was ${result.outcome} after ${result.elapsedMs}ms${proxySaid}, as the configuration says it would be` });
  } else if (!ok) {
    hops.push({ step: 'dial', verdict: 'FAIL', detail: `the probe connection was ${result.outcome} after ${result.elapsedMs}ms${proxySaid}`, cause: 'the connection ended without an access-log line naming why', next: 'l4mesh logs ztunnel' });
  } else {
    const sent = lines.map((l) => `${l.node} ${l.fields['direction']} sent=${l.fields['bytes_sent']} recv=${l.fields['bytes_recv']}`).join('; ');
    const last = hops[hops.length - 1];
    if (last?.step === 'dial') hops.pop();
    const how = result.outcome === 'answered' ? `sent ${result.bytesSent} bytes, answered "${result.firstLine ?? ''}" (${result.bytesReceived} bytes) and closed after ${result.elapsedMs}ms` : `connected and held ${result.elapsedMs}ms, ${result.bytesReceived} bytes received`;
    hops.push({ step: 'dial', verdict: 'OK', detail: `${how}${sent ? `; access log: ${sent}` : ''}` });
  }
  return { ...report, ok: ok && report.ok, hops };
}

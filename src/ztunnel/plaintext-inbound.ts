// Inbound plaintext (INBOUND_PORT) for clients outside the mesh. Local mode has no transparent capture to
// recover the original destination, so the client names it with an HTTP/1.1 CONNECT (the HBONE request
// shape without TLS and HTTP/2): `CONNECT <pod ip>:<port> HTTP/1.1`. PeerAuthentication STRICT turns into
// a policy that denies connections without a principal, so these are refused with 401 there.
// Only workloads this proxy carries are reachable (inbound-target.ts): a CONNECT to the proxy's own
// address (its admin port among them) or to anything the mesh does not know is refused, counted and logged.
// netns mode needs no CONNECT: the in-pod rules redirect plaintext here and SO_ORIGINAL_DST names the target.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { MeshWorkload } from '../api/mesh.js';
import { parseHboneAuthority } from '../dataplane/hbone/authority.js';
import { authorize } from '../dataplane/rbac.js';
import type { ProxyState } from '../dataplane/state/proxy-state.js';
import { splice } from '../dataplane/splice.js';
import { newConnectionStats } from '../dataplane/connection-stats.js';
import { RESPONSE_FLAGS } from '../dataplane/telemetry/labels.js';
import type { ConnectionTable } from '../dataplane/connections/connection-table.js';
import { dialTcp } from '../dataplane/dial.js';
import { fdPressure } from '../dataplane/admin/fd-pressure.js';
import { inboundTarget, type InboundTargetRules } from './inbound-target.js';
import type { ConnectionPeers, ConnectionReporter } from '../dataplane/connections/reporter.js';
import { traceClosed, tracePlaintextAccepted, tracePolicy } from '../dataplane/trace/path-decisions.js';
import type { TraceStore } from '../dataplane/trace/trace-store.js';

export interface PlaintextInboundDeps extends InboundTargetRules {
  node: string;
  state: ProxyState;
  reporter: ConnectionReporter;
  connections: ConnectionTable;
  /** netns mode: connects to the workload from inside its pod's namespace; default a plain dial from here. */
  dialWorkload?(workload: MeshWorkload, host: string, port: number): Promise<Socket>;
  /** Records the decisions of a connection armed for a trace by its client address (an `l4mesh check` probe). */
  traces?: TraceStore;
}

function answer(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason.replace(/[\r\n]/g, ' ')}\r\ncontent-length: 0\r\n\r\n`);
}

export function createPlaintextInbound(deps: PlaintextInboundDeps): Server {
  const server = createServer((_req, res) => {
    res.writeHead(405, { allow: 'CONNECT' }).end('use CONNECT <ip>:<port>\n');
  });
  server.on('connect', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    void handle(deps, req, socket, head);
  });
  fdPressure.watch(server, 'inbound_plaintext', 'data');
  return server;
}

/** How one plaintext connection is answered: an HTTP CONNECT gets status lines, a captured one a reset. */
interface PlaintextExchange {
  socket: Duplex;
  remoteIp: string;
  remotePort: number;
  /** What the client asked for, as written (for the access log). */
  requested: string;
  target?: { host: string; port: number };
  /** Bytes the client sent before the tunnel was up. */
  head: Buffer;
  refuse(status: 400 | 401 | 503): void;
  accepted(): void;
}

async function handle(deps: PlaintextInboundDeps, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  socket.on('error', () => {});
  const target = parseHboneAuthority(req.url);
  await forward(deps, {
    socket,
    remoteIp: req.socket.remoteAddress ?? '',
    remotePort: req.socket.remotePort ?? 0,
    requested: req.url ?? '',
    ...(target ? { target } : {}),
    head,
    refuse: (status) => answer(socket, status, STATUS_TEXT[status]),
    accepted: () => socket.write('HTTP/1.1 200 Connection Established\r\n\r\n'),
  });
}

const STATUS_TEXT = { 400: 'Bad Request', 401: 'Unauthorized', 503: 'Service Unavailable' } as const;

/**
 * netns mode: a plaintext connection the in-pod rules redirected to INBOUND_PORT, its original destination
 * read with SO_ORIGINAL_DST. Refused connections are reset, as a closed port would be.
 */
export function handleCapturedPlaintext(deps: PlaintextInboundDeps, socket: Socket, host: string, port: number): Promise<void> {
  socket.on('error', () => {});
  return forward(deps, {
    socket,
    remoteIp: socket.remoteAddress ?? '',
    remotePort: socket.remotePort ?? 0,
    requested: `${host}:${port}`,
    target: { host, port },
    head: Buffer.alloc(0),
    refuse: () => socket.resetAndDestroy(),
    accepted: () => {},
  });
}

async function forward(deps: PlaintextInboundDeps, x: PlaintextExchange): Promise<void> {
  const startedAt = Date.now();
  const { socket, target } = x;
  const remote = `${x.remoteIp}:${x.remotePort}`;
  // Plaintext carries no traceparent: a probe is known by the client address it was armed for.
  const traceId = deps.traces?.claim(remote);
  const trace = traceId ? deps.traces!.recorder(traceId, deps.node, 'inbound') : undefined;
  const checked = target ? inboundTarget(deps, target.host, target.port) : undefined;
  const destination = checked?.workload;
  const peers: ConnectionPeers = {
    reporter: 'destination',
    source: deps.state.workloadByAddress(x.remoteIp),
    destination,
    securityPolicy: 'none',
    srcAddr: remote,
    dstAddr: x.requested,
  };
  if (!target || !checked || 'refused' in checked || !destination) {
    const reason = checked && 'refused' in checked ? checked.refused : `"${x.requested}" is not <ip>:<port>`;
    trace?.record({ step: 'dial', verdict: 'FAIL', detail: `plaintext for ${x.requested} from ${remote} refused: ${reason}` });
    deps.reporter.failed(peers, RESPONSE_FLAGS.connect, startedAt, reason);
    return x.refuse(400);
  }
  peers.destinationIdentity = deps.state.identityOf(destination);
  const decision = authorize({
    policies: deps.state.policiesFor(destination),
    sourceIdentity: undefined,
    sourceIp: x.remoteIp,
    destinationIp: target.host,
    destinationPort: target.port,
  });
  if (trace) {
    tracePlaintextAccepted(trace, remote, x.requested, peers.source);
    tracePolicy(trace, destination, undefined, decision);
  }
  if (!decision.allowed) {
    deps.reporter.failed(peers, RESPONSE_FLAGS.deny, startedAt, `plaintext connection denied by policy${decision.policy ? ` ${decision.policy}` : ''}: ${decision.reason}`);
    return x.refuse(401);
  }
  let upstream;
  try {
    upstream = deps.dialWorkload ? await deps.dialWorkload(destination, target.host, target.port) : await dialTcp(target.host, target.port);
  } catch (err) {
    trace?.record({ step: 'dial', verdict: 'FAIL', detail: `cannot connect to ${destination.namespace}/${destination.name} at ${x.requested}: ${(err as Error).message}`, facts: { endpoint: x.requested, error: (err as Error).message } });
    deps.reporter.failed(peers, RESPONSE_FLAGS.connect, startedAt, (err as Error).message);
    return x.refuse(503);
  }
  trace?.record({ step: 'dial', verdict: 'OK', detail: `connected to ${destination.namespace}/${destination.name} at ${x.requested}`, facts: { endpoint: x.requested } });
  if (socket.destroyed) {
    upstream.destroy();
    return;
  }
  x.accepted();
  if (x.head.length) upstream.write(x.head);
  const stats = newConnectionStats(startedAt);
  stats.received += x.head.length;
  const tracked = deps.reporter.opened(peers, stats);
  const entry = {
    workload: destination.name,
    namespace: destination.namespace,
    direction: 'inbound' as const,
    local: x.requested,
    remote,
    remoteTarget: x.requested,
    protocol: 'TCP' as const,
    startedAt,
    stats,
  };
  deps.connections.add(entry);
  const outcome = await splice(socket, upstream, stats);
  deps.connections.remove(entry);
  deps.reporter.closed(peers, tracked, startedAt, outcome.error);
  if (trace) traceClosed(trace, stats, startedAt, outcome.error);
}

// Inbound plaintext (INBOUND_PORT) for clients outside the mesh. Local mode has no transparent capture to
// recover the original destination, so the client names it with an HTTP/1.1 CONNECT (the HBONE request
// shape without TLS and HTTP/2): `CONNECT <pod ip>:<port> HTTP/1.1`. PeerAuthentication STRICT turns into
// a policy that denies connections without a principal, so these are refused with 401 there.
// Only workloads this proxy carries are reachable (inbound-target.ts): a CONNECT to the proxy's own
// address (its admin port among them) or to anything the mesh does not know is refused, counted and logged.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
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

export interface PlaintextInboundDeps extends InboundTargetRules {
  node: string;
  state: ProxyState;
  reporter: ConnectionReporter;
  connections: ConnectionTable;
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

async function handle(deps: PlaintextInboundDeps, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  const startedAt = Date.now();
  socket.on('error', () => {});
  const remote = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
  const target = parseHboneAuthority(req.url);
  const checked = target ? inboundTarget(deps, target.host, target.port) : undefined;
  const destination = checked?.workload;
  const peers: ConnectionPeers = {
    reporter: 'destination',
    source: deps.state.workloadByAddress(req.socket.remoteAddress ?? ''),
    destination,
    securityPolicy: 'none',
    srcAddr: remote,
    dstAddr: req.url ?? '',
  };
  if (!target || !checked || 'refused' in checked || !destination) {
    const reason = checked && 'refused' in checked ? checked.refused : `"${req.url}" is not <ip>:<port>`;
    deps.reporter.failed(peers, RESPONSE_FLAGS.connect, startedAt, reason);
    return answer(socket, 400, 'Bad Request');
  }
  peers.destinationIdentity = deps.state.identityOf(destination);
  const decision = authorize({
    policies: deps.state.policiesFor(destination),
    sourceIdentity: undefined,
    sourceIp: req.socket.remoteAddress ?? '',
    destinationIp: target.host,
    destinationPort: target.port,
  });
  if (!decision.allowed) {
    deps.reporter.failed(peers, RESPONSE_FLAGS.deny, startedAt, `plaintext connection denied by policy${decision.policy ? ` ${decision.policy}` : ''}: ${decision.reason}`);
    return answer(socket, 401, 'Unauthorized');
  }
  let upstream;
  try {
    upstream = await dialTcp(target.host, target.port);
  } catch (err) {
    deps.reporter.failed(peers, RESPONSE_FLAGS.connect, startedAt, (err as Error).message);
    return answer(socket, 503, 'Service Unavailable');
  }
  if (socket.destroyed) {
    upstream.destroy();
    return;
  }
  socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
  if (head.length) upstream.write(head);
  const stats = newConnectionStats(startedAt);
  stats.received += head.length;
  const tracked = deps.reporter.opened(peers, stats);
  const entry = {
    workload: destination.name,
    namespace: destination.namespace,
    direction: 'inbound' as const,
    local: req.url!,
    remote,
    remoteTarget: req.url!,
    protocol: 'TCP' as const,
    startedAt,
    stats,
  };
  deps.connections.add(entry);
  const outcome = await splice(socket, upstream, stats);
  deps.connections.remove(entry);
  deps.reporter.closed(peers, tracked, startedAt, outcome.error);
}

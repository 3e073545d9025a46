// Composition of the node proxy: the shared proxy lifecycle (dataplane/proxy/proxy-runtime.ts) plus its own
// listeners: local capture (or netns mode's in-pod capture, netns-pods.ts) → outbound; HBONE → inbound;
// plaintext INBOUND_PORT → inbound.
import { join } from 'node:path';
import type { Server } from 'node:http';
import type { MeshWorkload } from '../api/mesh.js';
import { ProxyRuntime } from '../dataplane/proxy/proxy-runtime.js';
import type { ProxyState } from '../dataplane/state/proxy-state.js';
import { captureAdminViews, type ConnectionTable } from '../dataplane/connections/connection-table.js';
import { HBONE_PORT, INBOUND_PORT, PROXY_ADMIN_PORT, PROXY_METRICS_PORT } from '../config/mesh-constants.js';
import { captureBlocksFile } from '../config/state-layout.js';
import { LocalIdentityTable } from '../dataplane/tls/local-identities.js';
import { hboneServerName } from '../dataplane/tls/server-name.js';
import { HboneServer } from '../dataplane/hbone/server.js';
import { AddressBlocks } from '../dataplane/capture/address-blocks.js';
import { LocalCapture } from '../dataplane/capture/local.js';
import { listenServer } from '../dataplane/admin/server.js';
import { createMxStats, registerMxMetrics } from '../dataplane/mx/stats.js';
import { SidecarDialer } from '../dataplane/mx/legacy-mtls-client.js';
import { peerMetadataOf } from '../dataplane/mx/peer-metadata.js';
import { OutboundHandler } from '../dataplane/outbound/outbound.js';
import { isNodeProxy, nodeProxyAddressIn } from '../dataplane/outbound/node-proxy-address.js';
import type { Logger } from '../logging/logger.js';
import { nodeId, type ZtunnelConfig } from './config.js';
import { InboundHandler } from './inbound.js';
import { configDump } from './config-dump.js';
import { createPlaintextInbound, handleCapturedPlaintext } from './plaintext-inbound.js';
import { NetnsPods } from './netns-pods.js';
import { NETNS_ADMIN_VIEW } from '../dataplane/capture/netns/plan.js';

/** How long an inbound handshake waits for the certificate of a workload that just arrived: a CA round trip, with room. */
const CERTIFICATE_WAIT_MS = 5_000;

export class NodeProxy {
  private readonly runtime: ProxyRuntime;
  private readonly identities = new LocalIdentityTable();
  private capture!: LocalCapture;
  /** netns mode's in-pod listeners and dials; undefined in local mode. */
  private netns?: NetnsPods;
  private syncing: Promise<void> = Promise.resolve();

  constructor(
    readonly config: ZtunnelConfig,
    private readonly log: Logger,
    private readonly onQuit: () => void = () => {},
  ) {
    this.runtime = new ProxyRuntime({
      config,
      nodeId: nodeId(config),
      proxyName: config.proxyName,
      log,
      onCertificate: (identity, cert) => this.identities.set(identity, cert),
      localWorkloads: () => this.localWorkloads(),
    });
  }

  get state(): ProxyState {
    return this.runtime.state;
  }

  get connections(): ConnectionTable {
    return this.runtime.connections;
  }

  /** Workloads whose traffic this proxy carries: not node proxies, and not sidecar workloads (their sidecar does). */
  localWorkloads(): MeshWorkload[] {
    return this.state.workloadsOnNode(this.config.node).filter((w) => this.carries(w));
  }

  /** A workload of this node whose traffic this proxy carries; the only inbound targets it forwards to. */
  carries(w: MeshWorkload): boolean {
    return w.node === this.config.node && !isNodeProxy(w) && w.tunnelProtocol !== 'LEGACY_ISTIO_MTLS';
  }

  nodeProxyAddress(node: string): string | undefined {
    if (node === this.config.node) return this.config.address;
    return nodeProxyAddressIn(this.state, node);
  }

  /** Not ready from the moment it starts draining, so whatever probes it stops sending new work at once. */
  ready(): boolean {
    return this.runtime.ready();
  }

  async start(): Promise<void> {
    const { config, log, runtime } = this;
    await runtime.link();
    const { registry, reporter } = runtime.telemetry;
    const connections = runtime.connections;

    const mxStats = createMxStats();
    registerMxMetrics(registry, mxStats);
    const netnsMode = config.capture === 'netns';
    /** How workloads reach this proxy: local mode's per-service listeners, or in-pod redirection. */
    const captureMode = netnsMode ? 'netns' : 'local';
    // Set below, before any listener accepts: outbound dials from the source pod's namespace through it.
    let netnsPods: NetnsPods | undefined;
    const fromPod = { viaFor: (w: MeshWorkload) => netnsPods?.viaFor(w) };
    const outbound = new OutboundHandler({
      sidecars: new SidecarDialer({ tlsFor: (id) => runtime.certs.get(id), metadataFor: (w, id) => peerMetadataOf(w, id), nodeId: nodeId(config), stats: mxStats }),
      state: this.state,
      pool: runtime.pool,
      reporter,
      connections,
      log: log.child('outbound'),
      nodeProxyAddress: (node) => this.nodeProxyAddress(node),
      ...(netnsMode ? { fromPod } : {}),
      tracing: { store: runtime.traces, proxy: config.node, captureMode },
    });
    if (!netnsMode) {
      const blocks = await AddressBlocks.open(config.captureRange, captureBlocksFile(config.stateDir, config.node));
      this.capture = new LocalCapture(blocks, (message, fields) => log.error(message, fields));
      this.capture.onConnection((conn) => outbound.handle(conn));
    }

    const carries = (w: MeshWorkload) => this.carries(w);
    const dialWorkload = netnsMode ? { dialWorkload: (w: MeshWorkload, host: string, port: number) => netnsPods!.dialWorkload(w, host, port) } : {};
    const inbound = new InboundHandler({ node: config.node, proxyAddress: config.address, carries, state: this.state, reporter, connections, log: log.child('inbound'), traces: runtime.traces, ...dialWorkload });
    const hboneServer = (host: string, listenFd?: number) => {
      const server = new HboneServer({
        host,
        port: HBONE_PORT,
        identities: { secureContextFor: (serverName) => this.identities.secureContextFor(serverName) ?? this.pendingIdentity(serverName) },
        handler: inbound.handle,
        transport: config.hboneTransport,
        ...(listenFd !== undefined ? { listenFd } : {}),
      });
      inbound.attach(server);
      server.on('handshakeFailed', (err, remote) => log.debug('inbound TLS handshake failed', { remote, error: err }));
      return server;
    };
    const hbone = hboneServer(config.address);
    await hbone.listen();

    const plaintextDeps = { node: config.node, proxyAddress: config.address, carries, state: this.state, reporter, connections, traces: runtime.traces, ...dialWorkload };
    const plaintext: Server = createPlaintextInbound(plaintextDeps);
    await listenServer(plaintext, config.address, INBOUND_PORT, 'inbound plaintext');
    if (netnsMode) {
      netnsPods = new NetnsPods({
        node: config.node,
        prefix: config.netnsPrefix,
        state: this.state,
        log: log.child('netns'),
        hboneServer: (podIp, listenFd) => hboneServer(podIp, listenFd),
        outbound: (conn) => outbound.handle(conn),
        inbound: (conn) => void handleCapturedPlaintext(plaintextDeps, conn.socket, conn.destinationIp, conn.destinationPort),
      });
      this.netns = netnsPods;
    }

    const capture = this.capture;
    const views = captureAdminViews(connections, () => (netnsPods ? [] : capture.mappings()));
    if (netnsPods) views[NETNS_ADMIN_VIEW] = () => netnsPods!.captured();
    const captureListener = netnsPods
      ? { stopAccepting: () => netnsPods!.stopAccepting(), close: (drainMs: number) => netnsPods!.close(drainMs) }
      : { stopAccepting: () => capture.close() };
    await runtime.serve({
      ready: () => runtime.certs.ready(),
      configDump: (input) => configDump({ ...input, config, captureMode }),
      views,
      onUpdate: () => this.resync(),
      // Capture first: local clients are refused before peers are; HBONE sends GOAWAY and lets tunnels run.
      listeners: [captureListener, { stopAccepting: () => void plaintext.close() }, { close: (drainMs) => hbone.close(drainMs) }],
      quit: () => this.onQuit(),
    });
    log.info('node proxy started', {
      node: config.node,
      hbone: `${config.address}:${HBONE_PORT}`,
      metrics: `${config.address}:${PROXY_METRICS_PORT}`,
      admin: `${config.address}:${PROXY_ADMIN_PORT}`,
    });
  }

  /**
   * A connection for a local workload whose certificate is still being issued (it just arrived over xDS)
   * waits for it, up to CERTIFICATE_WAIT_MS, instead of failing its handshake.
   */
  private async pendingIdentity(serverName: string) {
    const name = serverName.toLowerCase();
    const identity = this.localWorkloads().map((w) => this.state.identityOf(w)).find((id) => hboneServerName(id) === name);
    if (!identity) return undefined;
    await this.runtime.certs.waitFor(identity, CERTIFICATE_WAIT_MS);
    return this.identities.secureContextFor(serverName);
  }

  /** Local workloads or services changed: certificates and outbound listeners follow. */
  private resync(): void {
    const local = this.localWorkloads();
    this.runtime.certs.ensure(new Set(local.map((w) => this.state.identityOf(w))));
    for (const id of this.identities.identities()) if (!local.some((w) => this.state.identityOf(w) === id)) this.identities.delete(id);
    const netns = this.netns;
    this.syncing = this.syncing
      .then(() => (netns ? netns.sync(local) : this.capture.sync(local, (w) => this.state.servicesInNamespace(w.namespace))))
      .catch((err: unknown) => this.log.error('updating outbound listeners failed', { error: err }));
  }

  /**
   * Drain: unready at once (readiness answers 503), stops accepting (peers' new connects are refused and their
   * outbound retries elsewhere and ejects this node; pooled HBONE connections get GOAWAY), lets open
   * connections finish for up to `drainMs`, then closes everything (dataplane/proxy/proxy-runtime.ts).
   */
  stop(): Promise<void> {
    return this.runtime.stop();
  }
}

// Composition of the node proxy: xDS → state; CA → certificates; local capture → outbound; HBONE :15008
// → inbound; telemetry on :15020; admin on :15000; readiness on :15021.
import { join } from 'node:path';
import type { Server } from 'node:http';
import type { MeshWorkload } from '../api/mesh.js';
import type { CertificateManager } from '../identity/certificate-manager.js';
import type { XdsClient } from '../dataplane/xds/client.js';
import { linkToControlPlane } from '../dataplane/proxy/control-plane-link.js';
import { startProxyEndpoints, type ProxyEndpoints } from '../dataplane/proxy/endpoints.js';
import { ProxyState } from '../dataplane/state/proxy-state.js';
import { LocalIdentityTable } from '../dataplane/tls/local-identities.js';
import { hboneServerName } from '../dataplane/tls/server-name.js';
import { HboneServer } from '../dataplane/hbone/server.js';
import { HboneClientPool } from '../dataplane/hbone/client-pool.js';
import { AddressBlocks } from '../dataplane/capture/address-blocks.js';
import { LocalCapture } from '../dataplane/capture/local.js';
import { listenServer } from '../dataplane/admin/server.js';
import type { Logger } from '../logging/logger.js';
import { createProxyTelemetry, type ProxyTelemetry } from './proxy-telemetry.js';
import { defaultNodeAddress, nodeId, PORTS, type ZtunnelConfig } from './config.js';
import { captureAdminViews, ConnectionTable } from './connections.js';
import { OutboundHandler } from './outbound.js';
import { InboundHandler } from './inbound.js';
import { configDump } from './config-dump.js';
import { TELEMETRY_TYPE_URL, ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL } from '../api/mesh.js';
import { createPlaintextInbound } from './plaintext-inbound.js';
import { createMxStats, registerMxMetrics } from '../dataplane/mx/stats.js';
import { SidecarDialer } from '../sidecar/legacy-mtls-client.js';
import { peerMetadataOf } from '../sidecar/peer-metadata.js';

/** Node proxies are themselves workloads of the mesh (namespace istio-system, label app=ztunnel). */
export const NODE_PROXY_NAMESPACE = 'istio-system';
export const NODE_PROXY_APP = 'ztunnel';
/** How long an inbound handshake waits for the certificate of a workload that just arrived: a CA round trip, with room. */
const CERTIFICATE_WAIT_MS = 5_000;
function isNodeProxy(w: MeshWorkload): boolean {
  return w.namespace === NODE_PROXY_NAMESPACE && w.labels['app'] === NODE_PROXY_APP;
}

/** The HBONE address of `node`'s proxy: the one the control plane registered, else local mode's 127.0.10.k. */
export function nodeProxyAddressIn(state: ProxyState, node: string): string | undefined {
  return state.workloadsOnNode(node).find(isNodeProxy)?.addresses[0] ?? defaultNodeAddress(node);
}

export class NodeProxy {
  readonly state = new ProxyState();
  readonly connections = new ConnectionTable();
  private readonly identities = new LocalIdentityTable();
  private certs!: CertificateManager;
  private xds!: XdsClient;
  private capture!: LocalCapture;
  private hbone!: HboneServer;
  private pool!: HboneClientPool;
  private telemetry?: ProxyTelemetry;
  private endpoints?: ProxyEndpoints;
  private plaintext?: Server;
  private stopping?: Promise<void>;
  private syncing: Promise<void> = Promise.resolve();
  private startedAt = new Date();

  constructor(
    readonly config: ZtunnelConfig,
    private readonly log: Logger,
    private readonly onQuit: () => void = () => {},
  ) {}

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
    return this.stopping === undefined && this.xds.hasSynced() && this.certs.ready();
  }

  async start(): Promise<void> {
    const { config, log } = this;
    const link = await linkToControlPlane({
      controlPlane: config.controlPlane,
      tokenFile: config.tokenFile,
      rootCertFile: config.rootCertFile,
      node: config.node,
      nodeId: nodeId(config),
      typeUrls: [ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL, TELEMETRY_TYPE_URL],
      onCertificate: (identity, cert) => this.identities.set(identity, cert),
      log,
    });
    this.certs = link.certs;
    this.xds = link.xds;

    this.telemetry = createProxyTelemetry({
      proxyName: config.proxyName,
      stateDir: config.stateDir,
      logFormat: config.logFormat,
      tcpReportingDurationMs: config.tcpReportingDurationMs,
      metricsExpiryGraceMs: config.metricsExpiryGraceMs,
      localWorkloads: () => this.localWorkloads(),
      allWorkloads: () => this.state.allWorkloads(),
      serviceByKey: (key) => this.state.serviceByKey(key),
      log,
    });
    const { registry, reporter } = this.telemetry;

    this.pool = new HboneClientPool({ tlsFor: (id) => this.certs.get(id), idleTimeoutMs: config.poolIdleTimeoutMs, transport: config.hboneTransport });
    const mxStats = createMxStats();
    registerMxMetrics(registry, mxStats);
    const outbound = new OutboundHandler({
      sidecars: new SidecarDialer({ tlsFor: (id) => this.certs.get(id), metadataFor: (w, id) => peerMetadataOf(w, id), nodeId: nodeId(config), stats: mxStats }),
      state: this.state,
      pool: this.pool,
      reporter,
      connections: this.connections,
      log: log.child('outbound'),
      nodeProxyAddress: (node) => this.nodeProxyAddress(node),
    });
    const blocks = await AddressBlocks.open(config.captureRange, join(config.stateDir, 'capture', `${config.node}.json`));
    this.capture = new LocalCapture(blocks, (message, fields) => log.error(message, fields));
    this.capture.onConnection((conn) => outbound.handle(conn));

    const carries = (w: MeshWorkload) => this.carries(w);
    const inbound = new InboundHandler({ node: config.node, proxyAddress: config.address, carries, hboneAddr: `${config.address}:${PORTS.hbone}`, state: this.state, reporter, connections: this.connections, log: log.child('inbound') });
    this.hbone = new HboneServer({
      host: config.address,
      port: PORTS.hbone,
      identities: { secureContextFor: (serverName) => this.identities.secureContextFor(serverName) ?? this.pendingIdentity(serverName) },
      handler: inbound.handle,
      transport: config.hboneTransport,
    });
    inbound.attach(this.hbone);
    this.hbone.on('handshakeFailed', (err, remote) => log.debug('inbound TLS handshake failed', { remote, error: err }));
    await this.hbone.listen();

    this.plaintext = createPlaintextInbound({ node: config.node, proxyAddress: config.address, carries, state: this.state, reporter, connections: this.connections });
    await listenServer(this.plaintext, config.address, PORTS.inboundPlaintext, 'inbound plaintext');

    this.endpoints = await startProxyEndpoints({
      address: config.address,
      stateDir: config.stateDir,
      registry,
      ready: () => this.ready(),
      configDump: () => configDump(this),
      views: captureAdminViews(this.connections, () => this.capture.mappings()),
      log,
      quit: () => this.onQuit(),
    });

    const telemetry = this.telemetry.telemetry;
    this.xds.on('update', ({ snapshot }) => {
      this.state.update(snapshot);
      this.resync();
      telemetry.update(snapshot);
    });
    this.xds.start();
    this.startedAt = new Date();
    log.info('node proxy started', {
      node: config.node,
      hbone: `${config.address}:${PORTS.hbone}`,
      metrics: `${config.address}:${PORTS.metrics}`,
      admin: `${config.address}:${PORTS.admin}`,
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
    await this.certs.waitFor(identity, CERTIFICATE_WAIT_MS);
    return this.identities.secureContextFor(serverName);
  }

  /** Local workloads or services changed: certificates and outbound listeners follow. */
  private resync(): void {
    const local = this.localWorkloads();
    this.certs.ensure(new Set(local.map((w) => this.state.identityOf(w))));
    for (const id of this.identities.identities()) if (!local.some((w) => this.state.identityOf(w) === id)) this.identities.delete(id);
    this.syncing = this.syncing
      .then(() => this.capture.sync(local, (w) => this.state.servicesInNamespace(w.namespace)))
      .catch((err: unknown) => this.log.error('updating outbound listeners failed', { error: err }));
  }

  get uptimeSince(): Date {
    return this.startedAt;
  }

  certificateStatus() {
    return this.certs.list();
  }

  /**
   * Drain: unready at once (:15021 answers 503), stops accepting (peers' new connects are refused and their
   * outbound retries elsewhere and ejects this node; pooled HBONE connections get GOAWAY), lets open
   * connections finish for up to `drainMs`, then closes everything.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.log.info('draining', { open: this.connections.size, graceMs: this.config.drainMs });
      this.xds?.stop();
      await this.capture?.close();
      this.plaintext?.close();
      const hboneClosed = this.hbone?.close(this.config.drainMs);
      const drained = await this.connections.drained(this.config.drainMs);
      if (!drained) this.log.warn('drain timeout: closing the remaining connections', { open: this.connections.size });
      await hboneClosed;
      this.pool?.close();
      this.telemetry?.tracker.flushNow();
      this.certs?.close();
      await this.endpoints?.close();
      this.telemetry?.telemetry.stop();
      this.telemetry?.tracker.close();
      await this.telemetry?.accessLog.close();
    })();
    return this.stopping;
  }
}

// Composition of the node proxy: xDS → state; CA → certificates; local capture → outbound; HBONE :15008
// → inbound; telemetry on :15020; admin on :15000; readiness on :15021.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Server } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { Registry as PromRegistry } from 'prom-client';
import type { MeshWorkload } from '../api/mesh.js';
import { L4meshError } from '../errors/index.js';
import { CaClient } from '../identity/ca-client.js';
import { CertificateManager } from '../identity/certificate-manager.js';
import { XdsClient } from '../dataplane/xds/client.js';
import { ProxyState } from '../dataplane/state/proxy-state.js';
import { LocalIdentityTable } from '../dataplane/tls/local-identities.js';
import { HboneServer } from '../dataplane/hbone/server.js';
import { HboneClientPool } from '../dataplane/hbone/client-pool.js';
import { AddressBlocks } from '../dataplane/capture/address-blocks.js';
import { LocalCapture } from '../dataplane/capture/local.js';
import { TcpMetrics } from '../dataplane/telemetry/metrics.js';
import { ConnectionTracker } from '../dataplane/telemetry/connection-tracker.js';
import { AccessLogger } from '../dataplane/telemetry/access-log.js';
import { registerProcessMetrics } from '../dataplane/telemetry/process-metrics.js';
import { startMetricsServer, type MetricsServer } from '../dataplane/telemetry/metrics-server.js';
import { adminHandler, closeServer, listen, listenServer, readinessHandler } from '../dataplane/admin/server.js';
import { isLogLevel, type Logger } from '../logging/logger.js';
import { defaultNodeAddress, nodeId, PORTS, type ZtunnelConfig } from './config.js';
import { ConnectionTable } from './connections.js';
import { ConnectionReporter } from './reporting.js';
import { OutboundHandler } from './outbound.js';
import { InboundHandler } from './inbound.js';
import { configDump } from './config-dump.js';
import { TelemetryConfig } from './telemetry-config.js';
import { TELEMETRY_TYPE_URL, ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL } from '../api/mesh.js';
import { createPlaintextInbound } from './plaintext-inbound.js';
import { createMxStats, registerMxMetrics } from '../dataplane/mx/stats.js';
import { SidecarDialer } from '../sidecar/legacy-mtls-client.js';
import { peerMetadataOf } from '../sidecar/peer-metadata.js';

/** Node proxies are themselves workloads of the mesh (namespace istio-system, label app=ztunnel). */
export const NODE_PROXY_NAMESPACE = 'istio-system';
export const NODE_PROXY_APP = 'ztunnel';
/** The name the control plane's serving certificate carries (as istiod's does); verified instead of the dialled IP. */
const CONTROL_PLANE_SERVER_NAME = 'istiod.istio-system.svc';

async function readRequired(file: string, what: string, hint: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (err) {
    throw new L4meshError('L4MESH_ERR_CONFIG', `cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? err} — ${hint}`);
  }
}

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
  readonly metricsRegistry = new PromRegistry();
  private readonly identities = new LocalIdentityTable();
  private certs!: CertificateManager;
  private xds!: XdsClient;
  private capture!: LocalCapture;
  private hbone!: HboneServer;
  private pool!: HboneClientPool;
  private tracker!: ConnectionTracker;
  private telemetry?: TelemetryConfig;
  private accessLog!: AccessLogger;
  private metricsServer?: MetricsServer;
  private admin?: Server;
  private plaintext?: Server;
  private readiness?: Server;
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
    return this.state.workloadsOnNode(this.config.node).filter((w) => !isNodeProxy(w) && w.tunnelProtocol !== 'LEGACY_ISTIO_MTLS');
  }

  nodeProxyAddress(node: string): string | undefined {
    if (node === this.config.node) return this.config.address;
    return nodeProxyAddressIn(this.state, node);
  }

  ready(): boolean {
    return this.xds.hasSynced() && this.certs.ready();
  }

  async start(): Promise<void> {
    const { config, log } = this;
    const token = await readRequired(config.tokenFile, 'the node token', `create one with "l4mesh control-plane token create --node ${config.node}"`);
    const rootPem = await readRequired(config.rootCertFile, 'the mesh root certificate', 'it is <state-dir>/ca/root-cert.pem of the control plane');

    this.certs = new CertificateManager({ client: new CaClient({ address: config.controlPlane, rootCertPem: rootPem + '\n', token, serverName: CONTROL_PLANE_SERVER_NAME }) });
    this.certs.on('updated', (identity: string) => {
      const cert = this.certs.get(identity);
      if (cert) this.identities.set(identity, cert);
      log.info('certificate issued', { identity, expires: cert?.notAfter.toISOString() });
    });
    this.certs.on('failed', (identity: string, err: Error) => log.warn('certificate request failed, retrying', { identity, error: err }));

    registerProcessMetrics(this.metricsRegistry);
    const tcpMetrics = new TcpMetrics(this.metricsRegistry);
    this.tracker = new ConnectionTracker(tcpMetrics, { reportingIntervalMs: config.tcpReportingDurationMs });
    const telemetry = new TelemetryConfig({
      tracker: this.tracker,
      metrics: tcpMetrics,
      localWorkloads: () => this.localWorkloads(),
      allWorkloads: () => this.state.allWorkloads(),
      serviceByKey: (key) => this.state.serviceByKey(key),
      defaultIntervalMs: config.tcpReportingDurationMs,
      expiryGraceMs: config.metricsExpiryGraceMs,
      log: log.child('telemetry'),
    });
    this.telemetry = telemetry;
    this.accessLog = new AccessLogger({ format: config.logFormat, stdout: true, file: join(config.stateDir, 'logs', `${config.proxyName}.access.log`) });
    const reporter = new ConnectionReporter(this.tracker, this.accessLog, telemetry);

    this.pool = new HboneClientPool({ tlsFor: (id) => this.certs.get(id) });
    const mxStats = createMxStats();
    registerMxMetrics(this.metricsRegistry, mxStats);
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

    const inbound = new InboundHandler({ node: config.node, hboneAddr: `${config.address}:${PORTS.hbone}`, state: this.state, reporter, connections: this.connections, log: log.child('inbound') });
    this.hbone = new HboneServer({ host: config.address, port: PORTS.hbone, identities: this.identities, handler: inbound.handle });
    inbound.attach(this.hbone);
    this.hbone.on('handshakeFailed', (err, remote) => log.debug('inbound TLS handshake failed', { remote, error: err }));
    await this.hbone.listen();

    this.plaintext = createPlaintextInbound({ node: config.node, state: this.state, reporter, connections: this.connections });
    await listenServer(this.plaintext, config.address, PORTS.inboundPlaintext, 'inbound plaintext');

    this.metricsServer = await startMetricsServer({ host: config.address, port: PORTS.metrics, registry: this.metricsRegistry });
    this.readiness = await listen(readinessHandler(() => this.ready()), config.address, PORTS.readiness, 'readiness');
    this.admin = await listen(
      adminHandler({
        configDump: () => configDump(this),
        views: {
          '/connections': () => this.connections.list().map(({ stats, ...c }) => ({ ...c, bytesReceived: stats.received, bytesSent: stats.sent })),
          '/capture': () => this.capture.mappings(),
        },
        getLogLevel: () => log.getLevel(),
        setLogLevel: (level) => {
          if (!isLogLevel(level)) return `unknown level "${level}": use error, warn, info, debug or trace`;
          log.setLevel(level);
          return undefined;
        },
        quit: () => this.onQuit(),
      }),
      config.address,
      PORTS.admin,
      'admin',
    );

    this.xds = new XdsClient({
      address: config.controlPlane,
      credentials: grpc.credentials.createSsl(Buffer.from(rootPem + '\n')),
      nodeId: nodeId(config),
      typeUrls: [ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL, TELEMETRY_TYPE_URL],
      channelOptions: { 'grpc.ssl_target_name_override': CONTROL_PLANE_SERVER_NAME, 'grpc.default_authority': CONTROL_PLANE_SERVER_NAME },
      metadata: { authorization: `Bearer ${token}` },
      log: (level, message, fields) => log.child('xds').log(level, message, fields),
    });
    this.xds.on('update', ({ snapshot }) => {
      this.state.update(snapshot);
      this.resync();
      telemetry.update(snapshot);
    });
    this.xds.on('connected', () => log.info('connected to the control plane', { address: config.controlPlane }));
    this.xds.on('disconnected', (err: Error) => log.warn('lost the control plane, keeping the last config and retrying', { error: err }));
    this.xds.start();
    this.startedAt = new Date();
    log.info('node proxy started', {
      node: config.node,
      hbone: `${config.address}:${PORTS.hbone}`,
      metrics: `${config.address}:${PORTS.metrics}`,
      admin: `${config.address}:${PORTS.admin}`,
    });
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

  /** Stops accepting, lets open connections finish for up to `drainMs`, then closes everything. */
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
      this.tracker?.flushNow();
      this.certs?.close();
      await Promise.all([this.metricsServer?.close(), closeServer(this.admin), closeServer(this.readiness)]);
      this.telemetry?.stop();
      this.tracker?.close();
      this.accessLog?.close();
    })();
    return this.stopping;
  }
}

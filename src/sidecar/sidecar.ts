// Composition of a sidecar: one workload's proxy on its pod IP. xDS → state; CA (with its node's token) →
// the workload's certificate; :15006 mutual TLS + istio-peer-exchange → inbound; local capture →
// outbound (HBONE to ambient workloads, TLS + peer exchange to other sidecars); :15020 metrics,
// :15021 readiness, :15000 admin.
import { join } from 'node:path';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import type { MeshWorkload } from '../api/mesh.js';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL, TELEMETRY_TYPE_URL } from '../api/mesh.js';
import type { CertificateManager } from '../identity/certificate-manager.js';
import type { WorkloadCertificate } from '../identity/workload-certificate.js';
import type { XdsClient } from '../dataplane/xds/client.js';
import { ProxyState } from '../dataplane/state/proxy-state.js';
import { HboneClientPool } from '../dataplane/hbone/client-pool.js';
import { AddressBlocks } from '../dataplane/capture/address-blocks.js';
import { LocalCapture } from '../dataplane/capture/local.js';
import { MX_ALPN } from '../dataplane/mx/handshake.js';
import { createMxStats, registerMxMetrics } from '../dataplane/mx/stats.js';
import { HBONE_TLS_MIN_VERSION } from '../dataplane/tls/secure-context.js';
import type { Logger } from '../logging/logger.js';
import { linkToControlPlane } from '../dataplane/proxy/control-plane-link.js';
import { startProxyEndpoints, type ProxyEndpoints } from '../dataplane/proxy/endpoints.js';
import { fdPressure } from '../dataplane/admin/fd-pressure.js';
import { captureAdminViews, ConnectionTable } from '../ztunnel/connections.js';
import { OutboundHandler } from '../ztunnel/outbound.js';
import { nodeProxyAddressIn } from '../ztunnel/node-proxy.js';
import { createProxyTelemetry, type ProxyTelemetry } from '../ztunnel/proxy-telemetry.js';
import { sidecarNodeId, SIDECAR_PORTS, type SidecarConfig } from './config.js';
import { SidecarInbound } from './inbound.js';
import { SidecarDialer } from './legacy-mtls-client.js';
import { peerMetadataOf } from './peer-metadata.js';
import { sidecarConfigDump } from './config-dump.js';

export class Sidecar {
  readonly state = new ProxyState();
  readonly connections = new ConnectionTable();
  readonly mxStats = createMxStats();
  private certs!: CertificateManager;
  private xds!: XdsClient;
  private capture!: LocalCapture;
  private pool!: HboneClientPool;
  private telemetry!: ProxyTelemetry;
  private inboundServer?: TlsServer;
  private inboundListening?: Promise<void>;
  private endpoints?: ProxyEndpoints;
  private stopping?: Promise<void>;
  private syncing: Promise<void> = Promise.resolve();
  readonly startedAt = new Date();

  constructor(
    readonly config: SidecarConfig,
    private readonly log: Logger,
    private readonly onQuit: () => void = () => {},
  ) {}

  get nodeId(): string {
    return sidecarNodeId(this.config);
  }

  /** The workload this sidecar serves, as the registry describes it. */
  self(): MeshWorkload | undefined {
    const { clusterId, namespace, pod } = this.config;
    return this.state.workloadByUid(`${clusterId}//Pod/${namespace}/${pod}`) ?? this.state.allWorkloads().find((w) => w.namespace === namespace && w.name === pod);
  }

  identity(): string | undefined {
    const self = this.self();
    return self ? this.state.identityOf(self) : undefined;
  }

  ready(): boolean {
    const id = this.identity();
    return Boolean(this.xds?.hasSynced() && id && this.certs.get(id) && this.inboundServer?.listening);
  }

  certificateStatus() {
    return this.certs.list();
  }

  async start(): Promise<void> {
    const { config, log } = this;
    const link = await linkToControlPlane({
      controlPlane: config.controlPlane,
      tokenFile: config.tokenFile,
      rootCertFile: config.rootCertFile,
      node: config.node,
      nodeId: this.nodeId,
      typeUrls: [ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL, TELEMETRY_TYPE_URL],
      onCertificate: (_id, cert) => this.serveCertificate(cert),
      log,
    });
    this.certs = link.certs;
    this.xds = link.xds;

    this.telemetry = createProxyTelemetry({
      proxyName: `sidecar-${config.namespace}-${config.pod}`,
      stateDir: config.stateDir,
      logFormat: config.logFormat,
      tcpReportingDurationMs: config.tcpReportingDurationMs,
      metricsExpiryGraceMs: config.metricsExpiryGraceMs,
      localWorkloads: () => {
        const self = this.self();
        return self ? [self] : [];
      },
      allWorkloads: () => this.state.allWorkloads(),
      serviceByKey: (key) => this.state.serviceByKey(key),
      log,
    });
    const { registry, reporter } = this.telemetry;
    registerMxMetrics(registry, this.mxStats);

    const metadataFor = (w: MeshWorkload, id: string) => peerMetadataOf(w, id, config.extraLabels);
    this.pool = new HboneClientPool({ tlsFor: (id) => this.certs.get(id), transport: this.config.hboneTransport });
    const outbound = new OutboundHandler({
      state: this.state,
      pool: this.pool,
      reporter,
      connections: this.connections,
      log: log.child('outbound'),
      nodeProxyAddress: (node) => nodeProxyAddressIn(this.state, node),
      sidecars: new SidecarDialer({ tlsFor: (id) => this.certs.get(id), metadataFor, nodeId: this.nodeId, stats: this.mxStats }),
    });
    const blocks = await AddressBlocks.open(config.captureRange, join(config.stateDir, 'capture', `sidecar-${config.namespace}-${config.pod}.json`));
    this.capture = new LocalCapture(blocks, (message, fields) => log.error(message, fields));
    this.capture.onConnection((conn) => outbound.handle(conn));

    const inbound = new SidecarInbound({
      state: this.state,
      self: () => this.self(),
      local: () => {
        const self = this.self();
        return self ? { metadata: metadataFor(self, this.state.identityOf(self)), nodeId: this.nodeId } : undefined;
      },
      stats: this.mxStats,
      reporter,
      connections: this.connections,
      log: log.child('inbound'),
    });
    this.inboundServer = createTlsServer({ requestCert: true, rejectUnauthorized: true, ALPNProtocols: [...MX_ALPN], minVersion: HBONE_TLS_MIN_VERSION, allowHalfOpen: true });
    this.inboundServer.on('secureConnection', inbound.handle);
    this.inboundServer.on('tlsClientError', (err, socket) => log.debug('inbound TLS handshake failed', { remote: `${socket.remoteAddress}:${socket.remotePort}`, error: err }));

    this.endpoints = await startProxyEndpoints({
      address: config.address,
      stateDir: config.stateDir,
      registry,
      ready: () => this.ready(),
      configDump: () => sidecarConfigDump(this),
      views: captureAdminViews(this.connections, () => this.capture.mappings()),
      log,
      quit: () => this.onQuit(),
    });

    this.xds.on('update', ({ snapshot }) => {
      this.state.update(snapshot);
      this.resync();
      this.telemetry.telemetry.update(snapshot);
    });
    this.xds.start();
    log.info('sidecar started', {
      workload: `${config.namespace}/${config.pod}`,
      inbound: `${config.address}:${SIDECAR_PORTS.inbound}`,
      metrics: `${config.address}:${SIDECAR_PORTS.metrics}`,
      admin: `${config.address}:${SIDECAR_PORTS.admin}`,
    });
  }

  /**
   * The first certificate opens :15006 (a client before that gets a refused connection, not a handshake
   * without a certificate); a rotated one replaces the server's context for new connections.
   */
  private serveCertificate(cert: WorkloadCertificate): void {
    const server = this.inboundServer;
    if (!server || this.stopping) return;
    server.setSecureContext({ key: cert.keyPem, cert: cert.chainPem.join(''), ca: cert.rootPem });
    if (this.inboundListening) return;
    const address = `${this.config.address}:${SIDECAR_PORTS.inbound}`;
    this.inboundListening = new Promise<void>((resolve) => {
      const onListenError = (err: NodeJS.ErrnoException) => {
        this.log.error('cannot listen for sidecar inbound: is another proxy using this address?', { address, error: err });
        this.onQuit();
        resolve();
      };
      server.once('error', onListenError);
      server.listen(SIDECAR_PORTS.inbound, this.config.address, () => {
        // Later errors are accept errors (EMFILE, ...): counted and logged, never a reason to quit.
        server.off('error', onListenError);
        fdPressure.watch(server, 'inbound', 'data');
        this.log.info('inbound listening', { address, identity: cert.identity });
        resolve();
      });
    });
  }

  /** The workload or services changed: its certificate and outbound listeners follow. */
  private resync(): void {
    const self = this.self();
    if (!self) this.log.warn('the control plane does not know this workload (yet)', { workload: `${this.config.namespace}/${this.config.pod}` });
    if (self && self.tunnelProtocol !== 'LEGACY_ISTIO_MTLS') {
      this.log.warn('workload is not in sidecar mode: label it sidecar.istio.io/inject "true", or peers will reach it over HBONE instead', { workload: self.name });
    }
    this.certs.ensure(self ? [this.state.identityOf(self)] : []);
    const local = self ? [self] : [];
    this.syncing = this.syncing
      .then(() => this.capture.sync(local, (w) => this.state.servicesInNamespace(w.namespace)))
      .catch((err: unknown) => this.log.error('updating outbound listeners failed', { error: err }));
  }

  /** Stops accepting, lets open connections finish for up to `drainMs`, then closes everything. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.log.info('draining', { open: this.connections.size, graceMs: this.config.drainMs });
      this.xds?.stop();
      await this.capture?.close();
      this.inboundServer?.close();
      const drained = await this.connections.drained(this.config.drainMs);
      if (!drained) this.log.warn('drain timeout: closing the remaining connections', { open: this.connections.size });
      this.pool?.close();
      this.telemetry?.tracker.flushNow();
      this.certs?.close();
      await this.endpoints?.close();
      this.telemetry?.telemetry.stop();
      this.telemetry?.tracker.close();
      this.telemetry?.accessLog.close();
    })();
    return this.stopping;
  }
}

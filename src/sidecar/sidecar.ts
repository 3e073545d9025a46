// Composition of a sidecar: one workload's proxy on its pod IP, the shared proxy lifecycle
// (dataplane/proxy/proxy-runtime.ts) plus its own listeners: INBOUND_PORT mutual TLS + istio-peer-exchange →
// inbound; local capture → outbound (HBONE to ambient workloads, TLS + peer exchange to other sidecars).
import { join } from 'node:path';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import type { MeshWorkload } from '../api/mesh.js';
import { INBOUND_PORT, PROXY_ADMIN_PORT, PROXY_METRICS_PORT } from '../config/mesh-constants.js';
import { captureBlocksFile } from '../config/state-layout.js';
import type { WorkloadCertificate } from '../identity/workload-certificate.js';
import { ProxyRuntime } from '../dataplane/proxy/proxy-runtime.js';
import type { ProxyState } from '../dataplane/state/proxy-state.js';
import { captureAdminViews, type ConnectionTable } from '../dataplane/connections/connection-table.js';
import { AddressBlocks } from '../dataplane/capture/address-blocks.js';
import { LocalCapture } from '../dataplane/capture/local.js';
import { selectMxProtocol } from '../dataplane/mx/handshake.js';
import { createMxStats, registerMxMetrics } from '../dataplane/mx/stats.js';
import { SidecarDialer } from '../dataplane/mx/legacy-mtls-client.js';
import { peerMetadataOf } from '../dataplane/mx/peer-metadata.js';
import { HBONE_TLS_MIN_VERSION } from '../dataplane/tls/secure-context.js';
import { fdPressure } from '../dataplane/admin/fd-pressure.js';
import { OutboundHandler } from '../dataplane/outbound/outbound.js';
import { nodeProxyAddressIn } from '../dataplane/outbound/node-proxy-address.js';
import type { Logger } from '../logging/logger.js';
import { sidecarNodeId, type SidecarConfig } from './config.js';
import { SidecarInbound } from './inbound.js';
import { sidecarConfigDump } from './config-dump.js';

export class Sidecar {
  readonly mxStats = createMxStats();
  private readonly runtime: ProxyRuntime;
  private capture!: LocalCapture;
  private inboundServer?: TlsServer;
  private inboundListening?: Promise<void>;
  private syncing: Promise<void> = Promise.resolve();
  private stopping = false;

  constructor(
    readonly config: SidecarConfig,
    private readonly log: Logger,
    private readonly onQuit: () => void = () => {},
  ) {
    this.runtime = new ProxyRuntime({
      config,
      nodeId: sidecarNodeId(config),
      proxyName: `sidecar-${config.namespace}-${config.pod}`,
      log,
      onCertificate: (_id, cert) => this.serveCertificate(cert),
      localWorkloads: () => {
        const self = this.self();
        return self ? [self] : [];
      },
    });
  }

  get state(): ProxyState {
    return this.runtime.state;
  }

  get connections(): ConnectionTable {
    return this.runtime.connections;
  }

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

  /** Not ready while draining, before xDS synced, or while INBOUND_PORT has no certificate to serve. */
  ready(): boolean {
    return this.runtime.ready();
  }

  async start(): Promise<void> {
    const { config, log, runtime } = this;
    await runtime.link();
    const { registry, reporter } = runtime.telemetry;
    const connections = runtime.connections;
    registerMxMetrics(registry, this.mxStats);

    const metadataFor = (w: MeshWorkload, id: string) => peerMetadataOf(w, id, config.extraLabels);
    const outbound = new OutboundHandler({
      state: this.state,
      pool: runtime.pool,
      reporter,
      connections,
      log: log.child('outbound'),
      nodeProxyAddress: (node) => nodeProxyAddressIn(this.state, node),
      sidecars: new SidecarDialer({ tlsFor: (id) => runtime.certs.get(id), metadataFor, nodeId: this.nodeId, stats: this.mxStats }),
    });
    const blocks = await AddressBlocks.open(config.captureRange, captureBlocksFile(config.stateDir, `sidecar-${config.namespace}-${config.pod}`));
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
      connections,
      log: log.child('inbound'),
    });
    this.inboundServer = createTlsServer({ requestCert: true, rejectUnauthorized: true, ALPNCallback: selectMxProtocol, minVersion: HBONE_TLS_MIN_VERSION, allowHalfOpen: true });
    this.inboundServer.on('secureConnection', inbound.handle);
    this.inboundServer.on('tlsClientError', (err, socket) => log.debug('inbound TLS handshake failed', { remote: `${socket.remoteAddress}:${socket.remotePort}`, error: err }));

    const capture = this.capture;
    const inboundServer = this.inboundServer;
    await runtime.serve({
      ready: () => {
        const id = this.identity();
        return Boolean(id && runtime.certs.get(id) && inboundServer.listening);
      },
      configDump: (input) => sidecarConfigDump({ ...input, config, nodeId: this.nodeId, mxStats: this.mxStats }),
      views: captureAdminViews(connections, () => capture.mappings()),
      onUpdate: () => this.resync(),
      listeners: [{ stopAccepting: () => capture.close() }, { stopAccepting: () => void inboundServer.close() }],
      quit: () => this.onQuit(),
    });
    log.info('sidecar started', {
      workload: `${config.namespace}/${config.pod}`,
      inbound: `${config.address}:${INBOUND_PORT}`,
      metrics: `${config.address}:${PROXY_METRICS_PORT}`,
      admin: `${config.address}:${PROXY_ADMIN_PORT}`,
    });
  }

  /**
   * The first certificate opens INBOUND_PORT (a client before that gets a refused connection, not a handshake
   * without a certificate); a rotated one replaces the server's context for new connections.
   */
  private serveCertificate(cert: WorkloadCertificate): void {
    const server = this.inboundServer;
    if (!server || this.stopping) return;
    server.setSecureContext({ key: cert.keyPem, cert: cert.chainPem.join(''), ca: cert.rootPem });
    if (this.inboundListening) return;
    const address = `${this.config.address}:${INBOUND_PORT}`;
    this.inboundListening = new Promise<void>((resolve) => {
      const onListenError = (err: NodeJS.ErrnoException) => {
        this.log.error('cannot listen for sidecar inbound: is another proxy using this address?', { address, error: err });
        this.onQuit();
        resolve();
      };
      server.once('error', onListenError);
      server.listen(INBOUND_PORT, this.config.address, () => {
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
    this.runtime.certs.ensure(self ? [this.state.identityOf(self)] : []);
    const local = self ? [self] : [];
    this.syncing = this.syncing
      .then(() => this.capture.sync(local, (w) => this.state.servicesInNamespace(w.namespace)))
      .catch((err: unknown) => this.log.error('updating outbound listeners failed', { error: err }));
  }

  /** Stops accepting, lets open connections finish for up to `drainMs`, then closes everything. */
  stop(): Promise<void> {
    this.stopping = true;
    return this.runtime.stop();
  }
}

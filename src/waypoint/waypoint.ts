// Composition of a waypoint: xDS → state; CA → its own certificate; /proxy/v1/routes → route table;
// HBONE :15008 → L7 routing → HBONE to endpoints; metrics :15020, readiness :15021, admin :15000.
import { join } from 'node:path';
import { Registry as PromRegistry } from 'prom-client';
import type { MeshWorkload } from '../api/mesh.js';
import { DEFAULT_TRUST_DOMAIN } from '../api/mesh.js';
import { spiffeUri } from '../identity/spiffe.js';
import type { CertificateManager } from '../identity/certificate-manager.js';
import type { XdsClient } from '../dataplane/xds/client.js';
import { linkToControlPlane } from '../dataplane/proxy/control-plane-link.js';
import { startProxyEndpoints, type ProxyEndpoints } from '../dataplane/proxy/endpoints.js';
import { certificatesDump, meshDump } from '../dataplane/proxy/config-dump.js';
import { ProxyState } from '../dataplane/state/proxy-state.js';
import { LocalIdentityTable } from '../dataplane/tls/local-identities.js';
import { HboneServer } from '../dataplane/hbone/server.js';
import { HboneClientPool } from '../dataplane/hbone/client-pool.js';
import { TcpMetrics } from '../dataplane/telemetry/metrics.js';
import { ConnectionTracker } from '../dataplane/telemetry/connection-tracker.js';
import { AccessLogger } from '../dataplane/telemetry/access-log.js';
import { registerProcessMetrics } from '../dataplane/telemetry/process-metrics.js';
import type { Logger } from '../logging/logger.js';
import { PORTS } from '../ztunnel/config.js';
import { ConnectionReporter } from '../ztunnel/reporting.js';
import { waypointNodeId, type WaypointConfig } from './config.js';
import { DestinationResolver } from './destination.js';
import { HttpMetrics } from './http-metrics.js';
import { HttpRouting } from './http-routing.js';
import { WaypointInbound } from './inbound.js';
import { PolicyBalancer } from './load-balancer.js';
import { RequestLogger } from './request-log.js';
import { RouteTable, type RouteResources } from './route-config.js';
import { WeightedDestinationPicker } from './router.js';
import { RoutesClient } from './routes-client.js';
import { UpstreamConnector } from './upstream.js';

export class Waypoint {
  readonly state = new ProxyState();
  readonly metricsRegistry = new PromRegistry();
  readonly identity: string;
  private routeTable = new RouteTable();
  private routeResources: RouteResources = { virtualServices: [], destinationRules: [] };
  private readonly identities = new LocalIdentityTable();
  private readonly picker = new WeightedDestinationPicker();
  private certs!: CertificateManager;
  private xds!: XdsClient;
  private routesClient!: RoutesClient;
  private hbone!: HboneServer;
  private pool!: HboneClientPool;
  private tracker!: ConnectionTracker;
  private accessLog!: AccessLogger;
  private requestLog!: RequestLogger;
  private endpoints?: ProxyEndpoints;
  private stopping?: Promise<void>;

  constructor(
    readonly config: WaypointConfig,
    private readonly log: Logger,
    private readonly onQuit: () => void = () => {},
  ) {
    this.identity = spiffeUri(DEFAULT_TRUST_DOMAIN, config.namespace, config.serviceAccount);
  }

  ready(): boolean {
    return this.xds.hasSynced() && this.certs.ready() && this.routesClient.hasSynced();
  }

  routes(): RouteTable {
    return this.routeTable;
  }

  /** This waypoint as the control plane sees it (its Pod), once xDS has it. */
  self(): MeshWorkload | undefined {
    return this.state.workloadByAddress(this.config.address);
  }

  async start(): Promise<void> {
    const { config, log } = this;
    const proxyName = `${config.podName}.${config.namespace}`;
    const link = await linkToControlPlane({
      controlPlane: config.controlPlane,
      tokenFile: config.tokenFile,
      rootCertFile: config.rootCertFile,
      node: config.node,
      nodeId: waypointNodeId(config),
      onCertificate: (identity, cert) => this.identities.set(identity, cert),
      log,
      certificateHint: 'is the waypoint pod known on its node?',
    });
    const { token } = link;
    this.certs = link.certs;
    this.xds = link.xds;
    this.certs.ensure([this.identity]);

    registerProcessMetrics(this.metricsRegistry);
    this.tracker = new ConnectionTracker(new TcpMetrics(this.metricsRegistry), { reportingIntervalMs: config.tcpReportingDurationMs });
    const logFile = join(config.stateDir, 'logs', `${proxyName}.access.log`);
    this.accessLog = new AccessLogger({ format: config.logFormat, stdout: true, file: logFile });
    this.requestLog = new RequestLogger(config.logFormat, logFile);
    const httpMetrics = new HttpMetrics(this.metricsRegistry);

    this.pool = new HboneClientPool({ tlsFor: (id) => this.certs.get(id), transport: config.hboneTransport });
    const balancer = new PolicyBalancer();
    const resolver = new DestinationResolver({ state: this.state, balancer, routes: () => this.routeTable });
    const upstream = new UpstreamConnector({ state: this.state, pool: this.pool, identity: () => this.identity, self: () => this.self(), address: config.address });
    const http = new HttpRouting({
      routes: () => this.routeTable,
      picker: this.picker,
      resolver,
      balancer,
      upstream,
      metrics: httpMetrics,
      requestLog: this.requestLog,
      log: log.child('http'),
    });
    const inbound = new WaypointInbound({
      state: this.state,
      routes: () => this.routeTable,
      http,
      picker: this.picker,
      resolver,
      upstream,
      reporter: new ConnectionReporter(this.tracker, this.accessLog),
      hboneAddr: `${config.address}:${PORTS.hbone}`,
      log: log.child('inbound'),
    });
    this.hbone = new HboneServer({ host: config.address, port: PORTS.hbone, identities: this.identities, handler: inbound.handle, transport: config.hboneTransport });
    inbound.attach(this.hbone);
    this.hbone.on('handshakeFailed', (err, remote) => log.debug('inbound TLS handshake failed', { remote, error: err }));
    await this.hbone.listen();

    this.endpoints = await startProxyEndpoints({
      address: config.address,
      stateDir: config.stateDir,
      registry: this.metricsRegistry,
      ready: () => this.ready(),
      configDump: () => ({
        identity: this.identity,
        namespace: config.namespace,
        routes: this.routeResources,
        ...meshDump(this.state),
        certificates: certificatesDump(this.certs.list()),
      }),
      log,
      quit: () => this.onQuit(),
    });

    this.routesClient = new RoutesClient({ baseUrl: `http://${config.controlPlaneHttp}`, namespace: config.namespace, token, intervalMs: config.routesPollMs });
    this.routesClient.on('update', (resources: RouteResources) => {
      this.routeResources = resources;
      this.routeTable = new RouteTable(resources);
      log.info('routes updated', { virtualServices: resources.virtualServices.length, destinationRules: resources.destinationRules.length });
    });
    this.routesClient.on('error', (err: Error) => log.warn('cannot fetch routes from the control plane, keeping the last ones', { error: err }));
    this.routesClient.start();

    this.xds.on('update', ({ snapshot }) => this.state.update(snapshot));
    this.xds.start();
    log.info('waypoint started', {
      name: `${config.name}.${config.namespace}`,
      identity: this.identity,
      hbone: `${config.address}:${PORTS.hbone}`,
      metrics: `${config.address}:${PORTS.metrics}`,
    });
  }

  /** Stops accepting, lets open tunnels finish for up to `drainMs`, then closes everything. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.xds?.stop();
      this.routesClient?.stop();
      await this.hbone?.close(this.config.drainMs);
      await this.pool?.close();
      this.tracker?.flushNow();
      this.certs?.close();
      await this.endpoints?.close();
      this.tracker?.close();
      await Promise.all([this.accessLog?.close(), this.requestLog?.close()]);
    })();
    return this.stopping;
  }
}

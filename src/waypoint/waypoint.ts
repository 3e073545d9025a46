// Composition of a waypoint: xDS → state; CA → its own certificate; /proxy/v1/routes → route table;
// HBONE :15008 → L7 routing → HBONE to endpoints; metrics :15020, readiness :15021, admin :15000.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Server } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { Registry as PromRegistry } from 'prom-client';
import type { MeshWorkload } from '../api/mesh.js';
import { DEFAULT_TRUST_DOMAIN } from '../api/mesh.js';
import { L4meshError } from '../errors/index.js';
import { spiffeUri } from '../identity/spiffe.js';
import { CaClient } from '../identity/ca-client.js';
import { CertificateManager } from '../identity/certificate-manager.js';
import { XdsClient } from '../dataplane/xds/client.js';
import { ProxyState } from '../dataplane/state/proxy-state.js';
import { LocalIdentityTable } from '../dataplane/tls/local-identities.js';
import { HboneServer } from '../dataplane/hbone/server.js';
import { HboneClientPool } from '../dataplane/hbone/client-pool.js';
import { TcpMetrics } from '../dataplane/telemetry/metrics.js';
import { ConnectionTracker } from '../dataplane/telemetry/connection-tracker.js';
import { AccessLogger } from '../dataplane/telemetry/access-log.js';
import { registerProcessMetrics } from '../dataplane/telemetry/process-metrics.js';
import { startMetricsServer, type MetricsServer } from '../dataplane/telemetry/metrics-server.js';
import { adminHandler, closeServer, listen, readinessHandler } from '../dataplane/admin/server.js';
import { isLogLevel, type Logger } from '../logging/logger.js';
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

/** The name the control plane's serving certificate carries (as istiod's does). */
const CONTROL_PLANE_SERVER_NAME = 'istiod.istio-system.svc';

async function readRequired(file: string, what: string, hint: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (err) {
    throw new L4meshError('L4MESH_ERR_CONFIG', `cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? err} — ${hint}`);
  }
}

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
  private metricsServer?: MetricsServer;
  private admin?: Server;
  private readiness?: Server;
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
    const token = await readRequired(config.tokenFile, 'the node token', `the waypoint authenticates with its node's token; create one with "l4mesh control-plane token create --node ${config.node}"`);
    const rootPem = await readRequired(config.rootCertFile, 'the mesh root certificate', 'it is <state-dir>/ca/root-cert.pem of the control plane');
    const proxyName = `${config.podName}.${config.namespace}`;

    this.certs = new CertificateManager({ client: new CaClient({ address: config.controlPlane, rootCertPem: rootPem + '\n', token, serverName: CONTROL_PLANE_SERVER_NAME }) });
    this.certs.on('updated', (identity: string) => {
      const cert = this.certs.get(identity);
      if (cert) this.identities.set(identity, cert);
      log.info('certificate issued', { identity, expires: cert?.notAfter.toISOString() });
    });
    this.certs.on('failed', (identity: string, err: Error) => log.warn('certificate request failed, retrying (is the waypoint pod known on its node?)', { identity, error: err }));
    this.certs.ensure([this.identity]);

    registerProcessMetrics(this.metricsRegistry);
    this.tracker = new ConnectionTracker(new TcpMetrics(this.metricsRegistry), { reportingIntervalMs: config.tcpReportingDurationMs });
    const logFile = join(config.stateDir, 'logs', `${proxyName}.access.log`);
    this.accessLog = new AccessLogger({ format: config.logFormat, stdout: true, file: logFile });
    this.requestLog = new RequestLogger(config.logFormat, logFile);
    const httpMetrics = new HttpMetrics(this.metricsRegistry);

    this.pool = new HboneClientPool({ tlsFor: (id) => this.certs.get(id) });
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
    this.hbone = new HboneServer({ host: config.address, port: PORTS.hbone, identities: this.identities, handler: inbound.handle });
    inbound.attach(this.hbone);
    this.hbone.on('handshakeFailed', (err, remote) => log.debug('inbound TLS handshake failed', { remote, error: err }));
    await this.hbone.listen();

    this.metricsServer = await startMetricsServer({ host: config.address, port: PORTS.metrics, registry: this.metricsRegistry });
    this.readiness = await listen(readinessHandler(() => this.ready()), config.address, PORTS.readiness, 'readiness');
    this.admin = await listen(
      adminHandler({
        configDump: () => ({
          identity: this.identity,
          namespace: config.namespace,
          routes: this.routeResources,
          workloads: this.state.allWorkloads(),
          services: this.state.allServices(),
          certificates: this.certs.list(),
        }),
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

    this.routesClient = new RoutesClient({ baseUrl: `http://${config.controlPlaneHttp}`, namespace: config.namespace, token, intervalMs: config.routesPollMs });
    this.routesClient.on('update', (resources: RouteResources) => {
      this.routeResources = resources;
      this.routeTable = new RouteTable(resources);
      log.info('routes updated', { virtualServices: resources.virtualServices.length, destinationRules: resources.destinationRules.length });
    });
    this.routesClient.on('error', (err: Error) => log.warn('cannot fetch routes from the control plane, keeping the last ones', { error: err }));
    this.routesClient.start();

    this.xds = new XdsClient({
      address: config.controlPlane,
      credentials: grpc.credentials.createSsl(Buffer.from(rootPem + '\n')),
      nodeId: waypointNodeId(config),
      channelOptions: { 'grpc.ssl_target_name_override': CONTROL_PLANE_SERVER_NAME, 'grpc.default_authority': CONTROL_PLANE_SERVER_NAME },
      metadata: { authorization: `Bearer ${token}` },
      log: (level, message, fields) => log.child('xds').log(level, message, fields),
    });
    this.xds.on('update', ({ snapshot }) => this.state.update(snapshot));
    this.xds.on('connected', () => log.info('connected to the control plane', { address: config.controlPlane }));
    this.xds.on('disconnected', (err: Error) => log.warn('lost the control plane, keeping the last config and retrying', { error: err }));
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
      await Promise.all([this.metricsServer?.close(), closeServer(this.admin), closeServer(this.readiness)]);
      this.tracker?.close();
      await Promise.all([this.accessLog?.close(), this.requestLog?.close()]);
    })();
    return this.stopping;
  }
}

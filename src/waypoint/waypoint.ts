// Composition of a waypoint: the shared proxy lifecycle (dataplane/proxy/proxy-runtime.ts) with its own
// certificate, /proxy/v1/routes → route table, and HBONE → L7 routing → HBONE to endpoints.
import type { MeshWorkload } from '../api/mesh.js';
import { HBONE_PORT, PROXY_METRICS_PORT } from '../config/mesh-constants.js';
import { spiffeUri } from '../identity/spiffe.js';
import { ProxyRuntime } from '../dataplane/proxy/proxy-runtime.js';
import { certificatesDump, meshDump } from '../dataplane/proxy/config-dump.js';
import type { ProxyState } from '../dataplane/state/proxy-state.js';
import { LocalIdentityTable } from '../dataplane/tls/local-identities.js';
import { HboneServer } from '../dataplane/hbone/server.js';
import type { Logger } from '../logging/logger.js';
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
  readonly identity: string;
  private readonly runtime: ProxyRuntime;
  private routeTable = new RouteTable();
  private routeResources: RouteResources = { virtualServices: [], destinationRules: [] };
  private readonly identities = new LocalIdentityTable();
  private readonly picker = new WeightedDestinationPicker();

  constructor(
    readonly config: WaypointConfig,
    private readonly log: Logger,
    private readonly onQuit: () => void = () => {},
  ) {
    this.identity = spiffeUri(config.trustDomain, config.namespace, config.serviceAccount);
    this.runtime = new ProxyRuntime({
      config,
      nodeId: waypointNodeId(config),
      proxyName: `${config.podName}.${config.namespace}`,
      log,
      onCertificate: (identity, cert) => this.identities.set(identity, cert),
      certificateHint: 'is the waypoint pod known on its node?',
      localWorkloads: () => {
        const self = this.self();
        return self ? [self] : [];
      },
    });
  }

  get state(): ProxyState {
    return this.runtime.state;
  }

  /** Not ready while draining, before xDS and the routes synced, or without its certificate. */
  ready(): boolean {
    return this.runtime.ready();
  }

  routes(): RouteTable {
    return this.routeTable;
  }

  /** This waypoint as the control plane sees it (its Pod), once xDS has it. */
  self(): MeshWorkload | undefined {
    return this.state.workloadByAddress(this.config.address);
  }

  async start(): Promise<void> {
    const { config, log, runtime } = this;
    await runtime.link();
    runtime.certs.ensure([this.identity]);
    const { registry, reporter, accessLogFile } = runtime.telemetry;
    const requestLog = new RequestLogger(config.logFormat, accessLogFile);
    const httpMetrics = new HttpMetrics(registry);

    const balancer = new PolicyBalancer();
    const resolver = new DestinationResolver({ state: this.state, balancer, routes: () => this.routeTable });
    const upstream = new UpstreamConnector({ state: this.state, pool: runtime.pool, identity: () => this.identity, self: () => this.self(), address: config.address, hboneToPodIp: config.hboneTarget === 'pod' });
    const http = new HttpRouting({
      routes: () => this.routeTable,
      picker: this.picker,
      resolver,
      balancer,
      upstream,
      metrics: httpMetrics,
      requestLog,
      log: log.child('http'),
    });
    const inbound = new WaypointInbound({
      state: this.state,
      routes: () => this.routeTable,
      http,
      picker: this.picker,
      resolver,
      upstream,
      reporter,
      hboneAddr: `${config.address}:${HBONE_PORT}`,
      log: log.child('inbound'),
      traces: runtime.traces,
      traceName: `waypoint ${config.namespace}/${config.name}`,
    });
    const hbone = new HboneServer({ host: config.address, port: HBONE_PORT, identities: this.identities, handler: inbound.handle, transport: config.hboneTransport });
    inbound.attach(hbone);
    hbone.on('handshakeFailed', (err, remote) => log.debug('inbound TLS handshake failed', { remote, error: err }));
    await hbone.listen();

    const routesClient = new RoutesClient({ baseUrl: `http://${config.controlPlaneHttp}`, namespace: config.namespace, token: runtime.token, intervalMs: config.routesPollMs });
    routesClient.on('update', (resources: RouteResources) => {
      this.routeResources = resources;
      this.routeTable = new RouteTable(resources);
      log.info('routes updated', { virtualServices: resources.virtualServices.length, destinationRules: resources.destinationRules.length });
    });
    routesClient.on('error', (err: Error) => log.warn('cannot fetch routes from the control plane, keeping the last ones', { error: err }));
    routesClient.start();

    await runtime.serve({
      ready: () => runtime.certs.ready() && routesClient.hasSynced(),
      configDump: ({ state, certificates }) => ({
        identity: this.identity,
        namespace: config.namespace,
        routes: this.routeResources,
        ...meshDump(state),
        certificates: certificatesDump(certificates),
      }),
      listeners: [{ stopAccepting: () => routesClient.stop() }, { close: (drainMs) => hbone.close(drainMs) }],
      closeLogs: () => requestLog.close(),
      quit: () => this.onQuit(),
    });
    log.info('waypoint started', {
      name: `${config.name}.${config.namespace}`,
      identity: this.identity,
      hbone: `${config.address}:${HBONE_PORT}`,
      metrics: `${config.address}:${PROXY_METRICS_PORT}`,
    });
  }

  /** Stops accepting, lets open tunnels finish for up to `drainMs`, then closes everything. */
  stop(): Promise<void> {
    return this.runtime.stop();
  }
}

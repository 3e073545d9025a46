// Composition of the control plane: store → registry → xDS + CA (gRPC/TLS), and the
// resource API, readiness, metrics and debug endpoints (HTTP); ports in src/config/mesh-constants.ts.
import { mkdir } from 'node:fs/promises';
import { createServer, type Server as HttpServer } from 'node:http';
import type { Server as NetServer } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { collectDefaultMetrics, Registry as PromRegistry } from 'prom-client';
import type { ControlPlaneConfig } from './config.js';
import { ResourceStore } from './store/resource-store.js';
import type { MeshStore } from './store/mesh-store.js';
import { EtcdStore } from './store/etcd-store.js';
import { shareStateFiles } from './store/etcd-shared-files.js';
import { ensureAdminToken } from './store/admin-token.js';
import { createResourceApiHandler } from './api/resource-api.js';
import { createProxyConfigHandler } from './api/proxy-config.js';
import { Registry } from './registry/registry.js';
import { XdsServer } from './xds/server.js';
import { loadOrCreateRootCa } from './ca/root-ca.js';
import { NodeTokenStore, type NodeTokens } from './ca/node-tokens.js';
import { EtcdNodeTokens } from './ca/etcd-node-tokens.js';
import { EtcdVipAllocator } from './registry/etcd-vip-allocator.js';
import { EtcdLeadership, SoleLeader, type Leadership } from './replicas/leadership.js';
import { EtcdPresence, LocalPresence, type ProxyPresence } from './replicas/proxy-presence.js';
import { NodeProxyRecorder } from './replicas/node-proxy-recorder.js';
import { addCaService } from './ca/service.js';
import { createDebugHandler } from './debug/handlers.js';
import { proxyAdmission } from './proxy-admission.js';
import { Logger } from '../logging/logger.js';
import { L4meshError } from '../errors/index.js';
import { rootCertFile } from '../config/state-layout.js';

/** Serving-certificate lifetime; renewed by restarting (the control plane is restarted far more often on a laptop). */
const SERVING_CERT_TTL_SECONDS = 365 * 24 * 3600;

export interface ControlPlane {
  config: ControlPlaneConfig;
  grpcPort: number;
  httpPort: number;
  adminToken: string;
  store: MeshStore;
  registry: Registry;
  xds: XdsServer;
  tokens: NodeTokens;
  leadership: Leadership;
  rootCertPem: string;
  close(): Promise<void>;
}

function listenHttp(server: HttpServer, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new L4meshError('L4MESH_ERR_CONFIG', `${host}:${port} is already in use — is another control plane running? ("l4mesh status")`)
          : err,
      ),
    );
    server.listen(port, host, () => {
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    });
  });
}

function bindGrpc(server: grpc.Server, address: string, credentials: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync(address, credentials, (err, port) =>
      err
        ? reject(new L4meshError('L4MESH_ERR_CONFIG', `cannot listen for gRPC on ${address}: ${err.message} — is another control plane running?`))
        : resolve(port),
    ),
  );
}

/**
 * Listening servers besides the control plane's own, whose connections it serves as if they had arrived on
 * its gRPC or HTTP port: netns mode's listeners inside the fabric namespace (DESIGN §2), which the CLI
 * opens through the netns addon (the control plane itself loads no data-plane code).
 */
export interface ExtraListeners {
  grpc: NetServer[];
  http: NetServer[];
}

export async function startControlPlane(config: ControlPlaneConfig, log = new Logger('control-plane'), extra: ExtraListeners = { grpc: [], http: [] }): Promise<ControlPlane> {
  await mkdir(config.stateDir, { recursive: true });
  const store: MeshStore =
    config.store === 'etcd' ? await EtcdStore.open({ endpoints: config.etcdEndpoints ?? [], ...(config.etcdMaxTxnOps ? { maxTxnOps: config.etcdMaxTxnOps } : {}) }) : await ResourceStore.open(config.stateDir);
  if (store instanceof EtcdStore) {
    // Every replica must accept the same admin token and sign with the same root: etcd holds the one copy.
    const how = await shareStateFiles(store.etcd, config.etcdEndpoints ?? [], config.stateDir, async () => {
      await ensureAdminToken(config.stateDir);
      await loadOrCreateRootCa(config.stateDir);
    });
    log.info(how === 'created' ? 'stored this replica\'s root CA and admin token in etcd' : 'using the root CA and admin token from etcd');
  }
  const adminToken = await ensureAdminToken(config.stateDir);
  const ca = await loadOrCreateRootCa(config.stateDir);
  // What other replicas and operators call this one: where its proxies stream xDS from.
  const identity = `${config.address.includes(':') ? `[${config.address}]` : config.address}:${config.grpcPort}`;
  const etcd = store instanceof EtcdStore ? store : undefined;
  const tokens: NodeTokens = etcd ? new EtcdNodeTokens(etcd) : await NodeTokenStore.open(config.stateDir);
  const leadership: Leadership = etcd ? new EtcdLeadership(etcd.etcd, identity, (level, message, fields) => log.log(level, message, fields)) : new SoleLeader();
  const vips = etcd ? new EtcdVipAllocator(config.vipRange, etcd, () => leadership.isLeader()) : undefined;
  leadership.on('change', () => vips?.kick());
  const registry = new Registry(
    store,
    {
      trustDomain: config.trustDomain,
      clusterId: config.clusterId,
      vipRange: config.vipRange,
      // On etcd the allocations are shared (EtcdVipAllocator), not kept per replica.
      ...(etcd ? {} : { stateDir: config.stateDir }),
    },
    vips,
  );
  const presence: ProxyPresence = etcd ? new EtcdPresence(etcd, identity, (level, message, fields) => log.log(level, message, fields)) : new LocalPresence(identity);
  const recorder = new NodeProxyRecorder(store, presence, leadership, {
    annotateReplica: etcd !== undefined,
    log: (level, message, fields) => log.log(level, message, fields),
  });

  const metrics = new PromRegistry();
  collectDefaultMetrics({ register: metrics });
  const xdsLog = log.child('xds');
  const xds = new XdsServer({
    source: registry,
    metrics,
    log: (level, message, fields) => xdsLog.log(level, message, fields),
    admit: proxyAdmission(tokens),
    onProxyConnected: (proxy) => {
      if (proxy.type !== 'ztunnel') return;
      const withdraw = presence.announce(proxy);
      withdraw.catch((err: unknown) => xdsLog.error('cannot record the node proxy as connected', { proxy: proxy.id, error: err }));
      return () => void withdraw.then((w) => w()).catch(() => undefined);
    },
  });

  const grpcServer = new grpc.Server({ 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
  xds.register(grpcServer);
  const caLog = log.child('ca');
  addCaService(grpcServer, {
    ca,
    tokens,
    identitiesOnNode: (node) => registry.identitiesOnNode(node),
    log: (line) => caLog.info(line),
  });
  const serving = await ca.issueServingCertificate({
    // The CA adds its default names (localhost, istiod's service name, the loopback address) to these.
    ipAddresses: [config.address],
    ttlSeconds: SERVING_CERT_TTL_SECONDS,
  });
  const credentials = grpc.ServerCredentials.createSsl(
    Buffer.from(ca.certPem),
    [{ private_key: Buffer.from(serving.keyPem), cert_chain: Buffer.from(serving.certChainPem) }],
    false,
  );
  const grpcPort = await bindGrpc(grpcServer, `${config.address}:${config.grpcPort}`, credentials);
  const injector = extra.grpc.length > 0 ? grpcServer.createConnectionInjector(credentials) : undefined;
  for (const server of extra.grpc) server.on('connection', (socket) => injector!.injectConnection(socket));

  const hostForUrl = config.address.includes(':') ? `[${config.address}]` : config.address;
  const resourceApi = createResourceApiHandler(store, { adminToken });
  const proxyConfig = createProxyConfigHandler(store, tokens);
  let selfTarget = '';
  const debug = createDebugHandler({
    metrics,
    ready: () => true,
    registryz: () => registry.registryz(),
    connections: () => xds.connections(),
    resourcesFor: (proxy) => xds.resourcesFor(proxy),
    selfMetricsTarget: () => selfTarget,
    replicaz: () => ({
      identity,
      leader: leadership.isLeader(),
      proxies: presence.list().map((r) => ({ proxy: r.proxy.proxyId, nodeId: r.proxy.id, replica: r.replica, connectedAt: r.connectedAt })),
    }),
  });
  const http = createServer((req, res) => {
    try {
      if (debug(req, res) || proxyConfig(req, res) || resourceApi(req, res)) return;
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'L4MESH_ERR_NOT_FOUND', message: `no such endpoint: ${req.method} ${req.url}` } }) + '\n');
    } catch (err) {
      log.error('http handler failed', { path: req.url, error: err });
      if (!res.headersSent) res.writeHead(500);
      res.end();
    }
  });
  const httpPort = await listenHttp(http, config.address, config.httpPort);
  for (const server of extra.http) server.on('connection', (socket) => http.emit('connection', socket));
  // The SD endpoint lists the control plane itself; its port is known only after listening.
  selfTarget = `${hostForUrl}:${httpPort}`;

  log.info('control plane ready', {
    xds: `${hostForUrl}:${grpcPort}`,
    http: selfTarget,
    stateDir: config.stateDir,
    store: config.store === 'etcd' ? `etcd ${(config.etcdEndpoints ?? []).join(',')}` : 'file',
    rootCert: rootCertFile(config.stateDir),
  });

  return {
    config,
    grpcPort,
    httpPort,
    adminToken,
    store,
    registry,
    xds,
    tokens,
    leadership,
    rootCertPem: ca.certPem,
    async close() {
      recorder.close();
      for (const server of [...extra.grpc, ...extra.http]) server.close();
      injector?.destroy();
      await new Promise<void>((resolve) => grpcServer.tryShutdown(() => resolve()));
      grpcServer.forceShutdown();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      registry.close?.();
      xds.close?.();
      await Promise.all([leadership.close(), presence.close()]);
      await store.close();
    },
  };
}

// `l4mesh control-plane`: runs the control plane; `l4mesh control-plane token create --node N` mints a node token.
import { parseArgs } from 'node:util';
import { controlPlaneConfig, parseControlPlaneArgs, DEFAULT_STATE_DIR, ENV } from '../controlplane/config.js';
import {
  CONTROL_PLANE_GRPC_PORT,
  CONTROL_PLANE_HTTP_PORT,
  DEFAULT_CLUSTER_ID,
  DEFAULT_CONTROL_PLANE_ADDRESS,
  DEFAULT_TRUST_DOMAIN,
  DEFAULT_VIP_RANGE,
} from '../config/mesh-constants.js';
import { startControlPlane, type ExtraListeners } from '../controlplane/server.js';
import type { ControlPlaneConfig } from '../controlplane/config.js';
import { listenTcpInNetns } from '../dataplane/capture/netns/native.js';
import { FABRIC_CONTROL_PLANE_IP } from '../dataplane/capture/netns/plan.js';
import { NodeTokenStore } from '../controlplane/ca/node-tokens.js';
import { createEtcdNodeToken } from '../controlplane/ca/etcd-node-tokens.js';
import { connectEtcd, ETCD_DEFAULT_MAX_TXN_OPS, parseEndpoints } from '../controlplane/store/etcd-connection.js';
import { createStateDir, resolveStateDir } from '../config/paths.js';
import { Logger } from '../logging/logger.js';
import { L4meshError } from '../errors/index.js';

const HELP = `usage: l4mesh control-plane [options]
       l4mesh control-plane token create --node NAME [--state-dir DIR | --store etcd --etcd-endpoints URLS]

Runs the control plane: xDS and the CA on :${CONTROL_PLANE_GRPC_PORT} (gRPC over TLS), the resource API,
/ready, /metrics and /debug/* on :${CONTROL_PLANE_HTTP_PORT} (HTTP). State (resources, CA, tokens) lives in the
state directory and survives restarts.

options:
  --state-dir DIR      state directory (env ${ENV.stateDir}, default ${DEFAULT_STATE_DIR})
  --address IP         address to listen on (env ${ENV.address}, default ${DEFAULT_CONTROL_PLANE_ADDRESS})
  --grpc-port N        xDS + CA port (env ${ENV.grpcPort}, default ${CONTROL_PLANE_GRPC_PORT})
  --http-port N        HTTP port (env ${ENV.httpPort}, default ${CONTROL_PLANE_HTTP_PORT})
  --trust-domain TD    SPIFFE trust domain (env ${ENV.trustDomain}, default ${DEFAULT_TRUST_DOMAIN})
  --cluster-id ID      cluster id reported in metrics (env ${ENV.clusterId}, default ${DEFAULT_CLUSTER_ID})
  --vip-range CIDR     service VIP range (env ${ENV.vipRange}, default ${DEFAULT_VIP_RANGE})
  --store file|etcd    where resources live (env ${ENV.store}, default file: JSON files in the state dir)
  --etcd-endpoints URLS  etcd client URLs, comma-separated, for --store etcd (env ${ENV.etcdEndpoints});
                       every replica pointed at the same etcd serves the same state
  --etcd-max-txn-ops N the most resources one apply or delete may hold (env ${ENV.etcdMaxTxnOps}): it is
                       one etcd transaction, so set it to etcd's own --max-txn-ops (default ${ETCD_DEFAULT_MAX_TXN_OPS})
  --fabric-netns NAME  netns mode (root): also listen on ${FABRIC_CONTROL_PLANE_IP} inside network namespace NAME,
                       the fabric the pods' namespaces route to, so pods (waypoints) reach xDS, the CA
                       and the API (env ${ENV.fabricNetns}; "l4mesh up --mode netns" passes it)
`;

/** netns mode: the gRPC and HTTP ports again on the fabric's control-plane address, opened inside the fabric namespace. */
async function fabricListeners(config: ControlPlaneConfig): Promise<ExtraListeners> {
  if (!config.fabricNetns) return { grpc: [], http: [] };
  const grpc = await listenTcpInNetns(config.fabricNetns, FABRIC_CONTROL_PLANE_IP, config.grpcPort);
  const http = await listenTcpInNetns(config.fabricNetns, FABRIC_CONTROL_PLANE_IP, config.httpPort).catch((err: unknown) => {
    grpc.close();
    throw err;
  });
  return { grpc: [grpc], http: [http] };
}

async function tokenCreate(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { node: { type: 'string' }, 'state-dir': { type: 'string' }, store: { type: 'string' }, 'etcd-endpoints': { type: 'string' } },
    strict: true,
  });
  if (!values.node) {
    throw new L4meshError('L4MESH_ERR_CONFIG', 'token create: --node NAME is required (the node the proxy runs on, e.g. node-1)');
  }
  const store = values.store ?? (process.env[ENV.store] || 'file');
  if (store === 'etcd') {
    // Every replica reads node tokens from etcd: the token is valid everywhere once this put is done.
    const endpoints = parseEndpoints(values['etcd-endpoints'] ?? process.env[ENV.etcdEndpoints] ?? '', `--etcd-endpoints (env ${ENV.etcdEndpoints})`);
    const client = connectEtcd(endpoints);
    try {
      process.stdout.write((await createEtcdNodeToken(client, endpoints, values.node)) + '\n');
    } finally {
      client.close();
    }
    return 0;
  }
  if (store !== 'file') throw new L4meshError('L4MESH_ERR_CONFIG', `token create: --store "${store}" is not a store; use file or etcd`);
  const stateDir = resolveStateDir(values['state-dir']);
  createStateDir(stateDir);
  const tokens = await NodeTokenStore.open(stateDir);
  process.stdout.write((await tokens.create(values.node)) + '\n');
  return 0;
}

export async function run(args: string[]): Promise<number> {
  try {
    if (args[0] === 'token') {
      if (args[1] !== 'create') throw new L4meshError('L4MESH_ERR_CONFIG', 'usage: l4mesh control-plane token create --node NAME');
      return await tokenCreate(args.slice(2));
    }
    const { values } = parseControlPlaneArgs(args);
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const config = controlPlaneConfig(values);
    const log = new Logger('control-plane');
    const cp = await startControlPlane(config, log, await fabricListeners(config));
    if (config.fabricNetns) log.info('serving pods in the fabric namespace too', { netns: config.fabricNetns, xds: `${FABRIC_CONTROL_PLANE_IP}:${cp.grpcPort}`, http: `${FABRIC_CONTROL_PLANE_IP}:${cp.httpPort}` });
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        log.info('shutting down', { signal });
        cp.close().then(resolve, resolve);
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    return 0;
  } catch (err) {
    const e = err as Error & { code?: string };
    process.stderr.write(`l4mesh control-plane: ${e.message}\n`);
    return e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || e.code === 'L4MESH_ERR_CONFIG' ? 2 : 1;
  }
}

// Control-plane configuration: every option has a flag, an environment variable and a named default.
import { parseArgs } from 'node:util';
import { isIP } from 'node:net';
import { L4meshError } from '../errors/index.js';
import { DEFAULT_STATE_DIR_TEXT, defaultStateDir, ENV_STATE_DIR } from '../config/paths.js';
import {
  CONTROL_PLANE_GRPC_PORT,
  CONTROL_PLANE_HTTP_PORT,
  DEFAULT_CLUSTER_ID,
  DEFAULT_CONTROL_PLANE_ADDRESS,
  DEFAULT_TRUST_DOMAIN,
  DEFAULT_VIP_RANGE,
  ENV_TRUST_DOMAIN,
} from '../config/mesh-constants.js';
import { ETCD_DEFAULT_MAX_TXN_OPS, parseEndpoints } from './store/etcd-connection.js';

/** Where `l4mesh up` keeps its state too, so both find the same mesh without flags (src/config/paths.ts). */
export const DEFAULT_STATE_DIR = DEFAULT_STATE_DIR_TEXT;
/** The embedded file store: `l4mesh up` needs nothing else; etcd is for several replicas. */
export const DEFAULT_STORE = 'file';
export const STORE_KINDS = ['file', 'etcd'] as const;
export type StoreKind = (typeof STORE_KINDS)[number];

export const ENV = {
  stateDir: ENV_STATE_DIR,
  address: 'L4MESH_ADDRESS',
  grpcPort: 'L4MESH_GRPC_PORT',
  httpPort: 'L4MESH_HTTP_PORT',
  trustDomain: ENV_TRUST_DOMAIN,
  clusterId: 'L4MESH_CLUSTER_ID',
  vipRange: 'L4MESH_VIP_RANGE',
  store: 'L4MESH_STORE',
  etcdEndpoints: 'L4MESH_ETCD_ENDPOINTS',
  etcdMaxTxnOps: 'L4MESH_ETCD_MAX_TXN_OPS',
  fabricNetns: 'L4MESH_FABRIC_NETNS',
} as const;

export interface ControlPlaneConfig {
  stateDir: string;
  address: string;
  grpcPort: number;
  httpPort: number;
  trustDomain: string;
  clusterId: string;
  vipRange: string;
  /** Absent means the file store (programs that build a config by hand need not say). */
  store?: StoreKind;
  /** etcd client URLs; empty or absent for the file store. */
  etcdEndpoints?: string[];
  /** The most resources one write may hold on etcd (etcd's --max-txn-ops); absent: etcd's default. */
  etcdMaxTxnOps?: number;
  /** netns mode: the fabric namespace in which the control plane also listens on FABRIC_CONTROL_PLANE_IP, for pods. */
  fabricNetns?: string;
}

export const CONTROL_PLANE_OPTIONS = {
  'state-dir': { type: 'string' },
  address: { type: 'string' },
  'grpc-port': { type: 'string' },
  'http-port': { type: 'string' },
  'trust-domain': { type: 'string' },
  'cluster-id': { type: 'string' },
  'vip-range': { type: 'string' },
  store: { type: 'string' },
  'etcd-endpoints': { type: 'string' },
  'etcd-max-txn-ops': { type: 'string' },
  'fabric-netns': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function port(value: string, what: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 0 || n > 65535) {
    throw new L4meshError('L4MESH_ERR_CONFIG', `${what}: "${value}" is not a port number (0-65535)`);
  }
  return n;
}

export function parseCidr(value: string, what: string): { base: number; bits: number } {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(value);
  if (!m || isIP(m[1]!) !== 4 || Number(m[2]) > 30) {
    throw new L4meshError('L4MESH_ERR_CONFIG', `${what}: "${value}" is not an IPv4 CIDR such as ${DEFAULT_VIP_RANGE} (prefix at most /30)`);
  }
  const base = m[1]!.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  return { base, bits: Number(m[2]) };
}

/** Resolves flags, then environment, then defaults; a bad value fails naming the flag and variable. */
export function controlPlaneConfig(values: Record<string, string | boolean | undefined>, env = process.env): ControlPlaneConfig {
  const pick = (flag: string, key: keyof typeof ENV, fallback: string): [string, string] => {
    const v = values[flag];
    if (typeof v === 'string') return [v, `--${flag}`];
    const e = env[ENV[key]];
    if (e !== undefined && e !== '') return [e, ENV[key]];
    return [fallback, `--${flag}`];
  };
  const [stateDir] = pick('state-dir', 'stateDir', defaultStateDir(env));
  const [address, addressFrom] = pick('address', 'address', DEFAULT_CONTROL_PLANE_ADDRESS);
  if (isIP(address) === 0) throw new L4meshError('L4MESH_ERR_CONFIG', `${addressFrom}: "${address}" is not an IP address`);
  const [grpc, grpcFrom] = pick('grpc-port', 'grpcPort', String(CONTROL_PLANE_GRPC_PORT));
  const [http, httpFrom] = pick('http-port', 'httpPort', String(CONTROL_PLANE_HTTP_PORT));
  const [trustDomain] = pick('trust-domain', 'trustDomain', DEFAULT_TRUST_DOMAIN);
  const [clusterId] = pick('cluster-id', 'clusterId', DEFAULT_CLUSTER_ID);
  const [vipRange, vipFrom] = pick('vip-range', 'vipRange', DEFAULT_VIP_RANGE);
  parseCidr(vipRange, vipFrom);
  const [store, storeFrom] = pick('store', 'store', DEFAULT_STORE);
  if (!(STORE_KINDS as readonly string[]).includes(store)) {
    throw new L4meshError('L4MESH_ERR_CONFIG', `${storeFrom}: "${store}" is not a store; use ${STORE_KINDS.join(' or ')}`);
  }
  const [endpoints, endpointsFrom] = pick('etcd-endpoints', 'etcdEndpoints', '');
  if (store === 'etcd' && endpoints === '') {
    throw new L4meshError('L4MESH_ERR_CONFIG', `--store etcd needs --etcd-endpoints (or ${ENV.etcdEndpoints}): the etcd client URLs, e.g. http://127.0.0.1:2379`);
  }
  if (store === 'file' && endpoints !== '') {
    throw new L4meshError('L4MESH_ERR_CONFIG', `${endpointsFrom} is given but the store is "file"; add --store etcd to keep the state in etcd`);
  }
  const [maxTxnOps, maxTxnOpsFrom] = pick('etcd-max-txn-ops', 'etcdMaxTxnOps', String(ETCD_DEFAULT_MAX_TXN_OPS));
  if (!/^\d+$/.test(maxTxnOps) || Number(maxTxnOps) < 1) {
    throw new L4meshError('L4MESH_ERR_CONFIG', `${maxTxnOpsFrom}: "${maxTxnOps}" is not a positive number of operations (etcd's --max-txn-ops, default ${ETCD_DEFAULT_MAX_TXN_OPS})`);
  }
  const [fabricNetns, fabricFrom] = pick('fabric-netns', 'fabricNetns', '');
  if (fabricNetns !== '' && !/^l4m(-[a-z0-9]+)?-fabric$/.test(fabricNetns)) {
    throw new L4meshError('L4MESH_ERR_CONFIG', `${fabricFrom}: "${fabricNetns}" is not a mesh's fabric namespace (l4m-fabric, or l4m-<prefix>-fabric; "ip netns list")`);
  }
  return {
    ...(fabricNetns !== '' ? { fabricNetns } : {}),
    store: store as StoreKind,
    etcdEndpoints: store === 'etcd' ? parseEndpoints(endpoints, endpointsFrom) : [],
    etcdMaxTxnOps: Number(maxTxnOps),
    stateDir,
    address,
    grpcPort: port(grpc, grpcFrom),
    httpPort: port(http, httpFrom),
    trustDomain,
    clusterId,
    vipRange,
  };
}

export function parseControlPlaneArgs(args: string[]) {
  return parseArgs({ args, options: CONTROL_PLANE_OPTIONS, allowPositionals: true, strict: true });
}

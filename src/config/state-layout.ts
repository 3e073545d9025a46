// Every path under the state directory, built here and nowhere else: what the control plane, the proxies,
// the local runtime and the CLI write there. Which directory is the state dir is src/config/paths.ts's.
import { join } from 'node:path';

/** Names of the entries directly under the state dir; the functions below are how code reaches them. */
export const STATE_ENTRIES = {
  /** Local mode's address plan, recorded at `up` so every later command uses the same one. */
  layout: 'layout.json',
  /** Pids of the processes `up` started, so `down` and `status` find exactly those. */
  pids: 'pids.json',
  /** The control plane's bearer token for mutating API calls (the CLI reads it from here). */
  adminToken: 'admin.token',
  /** Node tokens the control plane accepts, by node. */
  nodeTokens: 'node-tokens.json',
  /** Service VIP allocations, so a service keeps its VIP across control-plane restarts. */
  vips: 'vips.json',
  /** The resource store: one JSON file per resource. */
  resources: 'resources',
  /** The mesh root: `root-cert.pem` for everyone, `root-key.pem` for the control plane only. */
  ca: 'ca',
  /** One node token per node proxy, written by `up`; proxies read theirs at start. */
  tokens: 'tokens',
  /** Component logs and every proxy's access log. */
  logs: 'logs',
  /** Outbound-listener address allocations of each node proxy and sidecar, so workloads keep their env. */
  capture: 'capture',
  /** Each proxy's admin token for its mutating admin endpoints, by the address its admin port binds. */
  adminTokens: 'admin-tokens',
  /** The local runtime's own tables (pod processes, pod IPs). */
  runtime: 'runtime',
  /** Per pod: container logs and events. */
  pods: 'pods',
  /** Per Deployment: events. */
  deployments: 'deployments',
  /** `l4mesh dashboard prometheus`: its config and data. */
  prometheus: 'prometheus',
  /** `l4mesh up --ha`: one data directory per etcd member. */
  etcd: 'etcd',
} as const;

export const ROOT_CERT_FILE = 'root-cert.pem';
export const ROOT_KEY_FILE = 'root-key.pem';
/** Suffix of a token file under tokens/ and admin-tokens/. */
const TOKEN_SUFFIX = '.token';

export const layoutFile = (stateDir: string): string => join(stateDir, STATE_ENTRIES.layout);
export const pidsFile = (stateDir: string): string => join(stateDir, STATE_ENTRIES.pids);
export const adminTokenPath = (stateDir: string): string => join(stateDir, STATE_ENTRIES.adminToken);
export const nodeTokensFile = (stateDir: string): string => join(stateDir, STATE_ENTRIES.nodeTokens);
export const vipsFile = (stateDir: string): string => join(stateDir, STATE_ENTRIES.vips);
export const resourcesDir = (stateDir: string): string => join(stateDir, STATE_ENTRIES.resources);

export const caDir = (stateDir: string): string => join(stateDir, STATE_ENTRIES.ca);
export const rootCertFile = (stateDir: string): string => join(caDir(stateDir), ROOT_CERT_FILE);
export const rootKeyFile = (stateDir: string): string => join(caDir(stateDir), ROOT_KEY_FILE);

export const tokensDir = (stateDir: string): string => join(stateDir, STATE_ENTRIES.tokens);
/** The token a node's proxies (node proxy, sidecars and waypoints on it) authenticate with. */
export const nodeTokenFile = (stateDir: string, node: string): string => join(tokensDir(stateDir), node + TOKEN_SUFFIX);

export const logsDir = (stateDir: string): string => join(stateDir, STATE_ENTRIES.logs);
/** stdout and stderr of a component `up` started (control plane, node proxy, runtime, Prometheus). */
export const componentLogFile = (stateDir: string, component: string): string => join(logsDir(stateDir), `${component}.log`);
const ACCESS_LOG_SUFFIX = '.access.log';
/** A proxy's access log (DESIGN §6: stdout and `<state>/logs`). */
export const accessLogFile = (stateDir: string, proxyName: string): string => join(logsDir(stateDir), `${proxyName}${ACCESS_LOG_SUFFIX}`);
/** Whether a file name in <state>/logs is a proxy's access log (the console reads them all). */
export const isAccessLogFile = (name: string): boolean => name.endsWith(ACCESS_LOG_SUFFIX);

/** Outbound-listener allocations of one capturing proxy (`node-1`, `sidecar-<ns>-<pod>`). */
export const captureBlocksFile = (stateDir: string, owner: string): string => join(stateDir, STATE_ENTRIES.capture, `${owner}.json`);

export const proxyAdminTokensDir = (stateDir: string): string => join(stateDir, STATE_ENTRIES.adminTokens);
/** Callers know a proxy by the address its admin port binds, so the file is named after it. */
export const proxyAdminTokenPath = (stateDir: string, address: string): string => join(proxyAdminTokensDir(stateDir), address + TOKEN_SUFFIX);

export const runtimeDir = (stateDir: string): string => join(stateDir, STATE_ENTRIES.runtime);
export const podProcessesFile = (stateDir: string): string => join(runtimeDir(stateDir), 'processes.json');
export const podIpsFile = (stateDir: string): string => join(runtimeDir(stateDir), 'pod-ips.json');

export const podDir = (stateDir: string, namespace: string, pod: string): string => join(stateDir, STATE_ENTRIES.pods, namespace, pod);
export const podLogFile = (stateDir: string, namespace: string, pod: string, container: string): string => join(podDir(stateDir, namespace, pod), `${container}.log`);
export const podEventsFile = (stateDir: string, namespace: string, pod: string): string => join(podDir(stateDir, namespace, pod), 'events.jsonl');
export const deploymentEventsFile = (stateDir: string, namespace: string, deployment: string): string =>
  join(stateDir, STATE_ENTRIES.deployments, namespace, deployment, 'events.jsonl');

export const prometheusDir = (stateDir: string): string => join(stateDir, STATE_ENTRIES.prometheus);
/** The data directory of etcd member `member` of `l4mesh up --ha`. */
export const etcdDataDir = (stateDir: string, member: string): string => join(stateDir, STATE_ENTRIES.etcd, member);

/** How help texts show a default path: the same function with placeholders, e.g. `<state-dir>/tokens/<node>.token`. */
export const STATE_DIR_PLACEHOLDER = '<state-dir>';

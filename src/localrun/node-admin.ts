// Reads a node proxy's admin endpoints (PROXY_ADMIN_PORT): /capture (outbound listener mappings) and /config_dump.
import type { OutboundMapping } from '../dataplane/capture/capture.js';
import { L4meshError } from '../errors/index.js';
import { adminAuthHeaders } from '../dataplane/admin/admin-token.js';
import { PROXY_ADMIN_PORT } from '../config/mesh-constants.js';
import { NETNS_ADMIN_VIEW } from '../dataplane/capture/netns/plan.js';
import type { TraceRecord } from '../dataplane/trace/trace-store.js';

export interface CertificateDump {
  identity: string;
  state: string;
  certChain: Array<{ pem: string; serialNumber: string; validFrom: string; expirationTime: string }>;
  rootCerts: Array<{ pem: string; serialNumber: string; validFrom: string; expirationTime: string }>;
}

export interface ConfigDump {
  workloads: Array<Record<string, unknown>>;
  services: Array<Record<string, unknown>>;
  policies: Array<Record<string, unknown>>;
  certificates: CertificateDump[];
  config: Record<string, unknown>;
}

async function adminGet<T>(address: string, path: string, method = 'GET', headers: Record<string, string> = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`http://${address}:${PROXY_ADMIN_PORT}${path}`, { method, headers, signal: AbortSignal.timeout(5_000) });
  } catch (err) {
    throw new L4meshError('L4MESH_ERR_NO_CONTROL_PLANE', `no node proxy admin at ${address}:${PROXY_ADMIN_PORT} — is the mesh up? run "l4mesh status"`, { cause: err });
  }
  const text = await res.text();
  if (res.status !== 200) throw new L4meshError('L4MESH_ERR_BAD_REQUEST', `${address}:${PROXY_ADMIN_PORT}${path}: HTTP ${res.status} ${text.trim()}`);
  try {
    return JSON.parse(text) as T;
  } catch {
    return text as T;
  }
}

export function fetchCapture(nodeAddress: string): Promise<OutboundMapping[]> {
  return adminGet<OutboundMapping[]>(nodeAddress, '/capture');
}

/** netns mode: the pod namespaces the node proxy has in-pod listeners in. */
export function fetchCapturedNetns(nodeAddress: string): Promise<string[]> {
  return adminGet<string[]>(nodeAddress, NETNS_ADMIN_VIEW);
}

export function fetchConfigDump(nodeAddress: string): Promise<ConfigDump> {
  return adminGet<ConfigDump>(nodeAddress, '/config_dump');
}

export function fetchConnections(nodeAddress: string): Promise<Array<Record<string, unknown>>> {
  return adminGet<Array<Record<string, unknown>>>(nodeAddress, '/connections');
}

/** POST /logging with the proxy's admin token from `stateDir` (the proxy refuses it without). */
export function setLogLevel(stateDir: string, nodeAddress: string, level: string): Promise<unknown> {
  return adminGet<unknown>(nodeAddress, `/logging?level=${encodeURIComponent(level)}`, 'POST', adminAuthHeaders(stateDir, nodeAddress));
}

/** POST /quitquitquit with the proxy's admin token from `stateDir`. */
export function quitProxy(stateDir: string, nodeAddress: string): Promise<unknown> {
  return adminGet<unknown>(nodeAddress, '/quitquitquit', 'POST', adminAuthHeaders(stateDir, nodeAddress));
}

/** POST /debug/trace: the proxy at `address` traces the next connection from `client` under `traceId`. */
export function armTrace(stateDir: string, address: string, traceId: string, client: string): Promise<unknown> {
  return adminGet<unknown>(address, `/debug/trace?id=${traceId}&client=${encodeURIComponent(client)}`, 'POST', adminAuthHeaders(stateDir, address));
}

/** GET /debug/trace?id=: what the proxy at `address` decided for `traceId`; undefined when it saw none of it. */
export async function fetchTrace(address: string, traceId: string): Promise<TraceRecord | undefined> {
  let res: Response;
  try {
    res = await fetch(`http://${address}:${PROXY_ADMIN_PORT}/debug/trace?id=${traceId}`, { signal: AbortSignal.timeout(5_000) });
  } catch (err) {
    throw new L4meshError('L4MESH_ERR_NO_CONTROL_PLANE', `no proxy admin at ${address}:${PROXY_ADMIN_PORT} — is the mesh up? run "l4mesh status"`, { cause: err });
  }
  const text = await res.text();
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw new L4meshError('L4MESH_ERR_BAD_REQUEST', `${address}:${PROXY_ADMIN_PORT}/debug/trace: HTTP ${res.status} ${text.trim()}`);
  return JSON.parse(text) as TraceRecord;
}

export function podUid(namespace: string, pod: string): string {
  return `Kubernetes//Pod/${namespace}/${pod}`;
}

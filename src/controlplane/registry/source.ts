// The contract between the registry (which computes the mesh from stored resources) and its
// consumers: the xDS server, the CA's node authorization and the debug endpoints.
import type { EventEmitter } from 'node:events';
import type { MeshSnapshot } from '../../api/mesh.js';

/**
 * A live view of the mesh. `current()` returns an immutable snapshot: a changed object is a new
 * object (so consumers may cache per object identity). Emits `'change'` after every update.
 */
export interface MeshSource extends EventEmitter {
  current(): MeshSnapshot;
  /** SPIFFE ids of the workloads scheduled on `node` (what that node's proxy may request certificates for). */
  identitiesOnNode(node: string): Set<string>;
}

/** A connected proxy, parsed from its xDS node id `<type>~<ip>~<name>.<namespace>~<namespace>.svc.cluster.local`. */
export interface ProxyInfo {
  /** The full node id. */
  id: string;
  type: string;
  ip: string;
  name: string;
  namespace: string;
  /** `name.namespace`, the proxyID of `/debug/config_dump?proxyID=`. */
  proxyId: string;
}

export function parseNodeId(id: string): ProxyInfo | undefined {
  const parts = id.split('~');
  if (parts.length !== 4) return undefined;
  const [type, ip, nameNs] = parts as [string, string, string, string];
  const dot = nameNs.indexOf('.');
  if (!type || !ip || dot <= 0) return undefined;
  const name = nameNs.slice(0, dot);
  const namespace = nameNs.slice(dot + 1);
  return { id, type, ip, name, namespace, proxyId: `${name}.${namespace}` };
}

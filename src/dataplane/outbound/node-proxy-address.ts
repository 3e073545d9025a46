// Where a node's proxy takes HBONE: the address of the node proxy workload the control plane registered
// on that node, else local mode's 127.0.10.k. Every role that tunnels to a node asks this.
import type { MeshWorkload } from '../../api/mesh.js';
import { LOCAL_NODE_ADDRESS_PREFIX } from '../../config/mesh-constants.js';
import type { ProxyState } from '../state/proxy-state.js';

/** Node proxies are themselves workloads of the mesh (namespace istio-system, label app=ztunnel). */
export const NODE_PROXY_NAMESPACE = 'istio-system';
export const NODE_PROXY_APP = 'ztunnel';

export function isNodeProxy(w: MeshWorkload): boolean {
  return w.namespace === NODE_PROXY_NAMESPACE && w.labels['app'] === NODE_PROXY_APP;
}

/** Local mode gives node-k the address LOCAL_NODE_ADDRESS_PREFIX.k, so many node proxies share one host. */
export function defaultNodeAddress(node: string): string | undefined {
  const m = /^node-(\d+)$/.exec(node);
  if (!m) return undefined;
  const k = Number(m[1]);
  return k >= 1 && k <= 254 ? `${LOCAL_NODE_ADDRESS_PREFIX}.${k}` : undefined;
}

/** The HBONE address of `node`'s proxy: the one the control plane registered, else local mode's 127.0.10.k. */
export function nodeProxyAddressIn(state: ProxyState, node: string): string | undefined {
  return state.workloadsOnNode(node).find(isNodeProxy)?.addresses[0] ?? defaultNodeAddress(node);
}

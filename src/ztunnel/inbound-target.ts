// Which inbound targets a node proxy forwards to: only a workload it carries, on this node — never its
// own address (admin, metrics, readiness, HBONE ports), another proxy, or an address the mesh does not know.
import type { MeshWorkload } from '../api/mesh.js';
import type { ProxyState } from '../dataplane/state/proxy-state.js';

export interface InboundTargetRules {
  node: string;
  /** The node proxy's own address: nothing is forwarded there, whatever the port. */
  proxyAddress: string;
  state: ProxyState;
  /** True for workloads whose traffic this proxy carries (not node proxies, not sidecar workloads). */
  carries(workload: MeshWorkload): boolean;
}

export type InboundTarget = { workload: MeshWorkload } | { refused: string; workload?: MeshWorkload };

/** The local workload at `host`, or the reason to refuse the connection (for the access log). */
export function inboundTarget(rules: InboundTargetRules, host: string, port: number): InboundTarget {
  const workload = rules.state.workloadByAddress(host);
  if (host === rules.proxyAddress) return { refused: `${host}:${port} is this node proxy's own address; inbound connections only reach workloads`, workload };
  if (!workload || workload.node !== rules.node) return { refused: `no workload at ${host} on node ${rules.node}`, workload };
  if (!rules.carries(workload)) {
    return { refused: `${workload.namespace}/${workload.name} at ${host} is a proxy or has its own sidecar; this node proxy does not forward to it`, workload };
  }
  return { workload };
}

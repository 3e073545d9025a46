// Who may stream xDS, and node proxies as workloads: a ztunnel proves its node with a node token, and
// the control plane records it as Pod istio-system/ztunnel-<node> (app=ztunnel), which is how other
// proxies find the HBONE address of a node.
import type * as grpc from '@grpc/grpc-js';
import type { ProxyInfo } from './registry/source.js';
import type { NodeTokens } from './ca/node-tokens.js';
import type { MeshStore } from './store/mesh-store.js';
import { validateResource } from '../api/manifest.js';

export const NODE_PROXY_PREFIX = 'ztunnel-';
/** On a node proxy's Pod when several replicas serve: `<address>:<grpc port>` of the one it streams xDS from. */
export const CONTROL_PLANE_ANNOTATION = 'l4mesh.io/control-plane';

function bearer(metadata: grpc.Metadata): string | undefined {
  const value = metadata.get('authorization')[0];
  const m = typeof value === 'string' ? /^Bearer\s+(\S+)$/i.exec(value) : null;
  return m?.[1];
}

export function proxyAdmission(tokens: NodeTokens) {
  return (proxy: ProxyInfo, metadata: grpc.Metadata): string | undefined => {
    const token = bearer(metadata);
    if (!token) return 'missing "authorization: Bearer <node token>" — create one with "l4mesh control-plane token create --node NAME"';
    const node = tokens.verify(token);
    if (!node) return 'unknown node token — create one with "l4mesh control-plane token create --node NAME"';
    if (proxy.type === 'ztunnel' && proxy.name !== `${NODE_PROXY_PREFIX}${node}`) {
      return `the token of node "${node}" cannot serve proxy ${proxy.proxyId}; a node proxy must be named ${NODE_PROXY_PREFIX}${node}`;
    }
    return undefined;
  };
}

/** The restart count and last exit the local runtime's supervisor recorded on the Pod, kept across reconnects. */
function restartsOf(pod: { status?: Record<string, unknown> } | undefined): Record<string, unknown> {
  const statuses = pod?.status?.['containerStatuses'];
  const prev = Array.isArray(statuses) ? (statuses[0] as Record<string, unknown> | undefined) : undefined;
  return {
    restartCount: typeof prev?.['restartCount'] === 'number' ? prev['restartCount'] : 0,
    ...(prev?.['lastState'] ? { lastState: prev['lastState'] } : {}),
  };
}

/**
 * Records a connected node proxy as a Running pod on its node (idempotent: unchanged when nothing moved),
 * naming `replica` in an annotation when given.
 */
export async function registerNodeProxy(store: MeshStore, proxy: ProxyInfo, replica?: string): Promise<void> {
  if (proxy.type !== 'ztunnel' || !proxy.name.startsWith(NODE_PROXY_PREFIX)) return;
  const node = proxy.name.slice(NODE_PROXY_PREFIX.length);
  const pod = validateResource(
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: proxy.name,
        namespace: proxy.namespace,
        labels: { app: 'ztunnel' },
        annotations: {
          'l4mesh.io/workload-kind': 'DaemonSet',
          'l4mesh.io/workload-name': 'ztunnel',
          ...(replica ? { [CONTROL_PLANE_ANNOTATION]: replica } : {}),
        },
      },
      spec: {
        nodeName: node,
        serviceAccountName: 'ztunnel',
        containers: [{ name: 'istio-proxy', image: 'l4mesh' }],
      },
      status: {
        phase: 'Running',
        podIP: proxy.ip,
        conditions: [{ type: 'Ready', status: 'True' }],
        containerStatuses: [{ ...restartsOf(store.get('Pod', proxy.namespace, proxy.name)), name: 'istio-proxy', ready: true, state: { running: {} } }],
      },
    },
    1,
  );
  await store.apply([pod]);
}

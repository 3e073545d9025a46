// The environment a pod's containers (and `l4mesh exec`) run with: Kubernetes' downward-API-style
// variables plus <SERVICE>_SERVICE_HOST/_PORT pointing at the node proxy's outbound listeners.
import type { Resource } from '../api/types.js';
import type { OutboundMapping } from '../dataplane/capture/capture.js';
import { serviceEnv } from '../dataplane/capture/local.js';
import { podUid } from './node-admin.js';
import { packageRootEnv } from './command-expansion.js';

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}

/** Thrown (as a message) when a container's env cannot be built; shown as CreateContainerConfigError. */
export function unsupportedEnv(env: readonly EnvVar[] | undefined): string | undefined {
  const bad = (env ?? []).find((e) => e.valueFrom !== undefined);
  return bad ? `env ${bad.name}: valueFrom is not supported by the local runtime; give it a literal "value"` : undefined;
}

export function podEnv(pod: Resource, mappings: readonly OutboundMapping[], containerEnv: readonly EnvVar[] = []): Record<string, string> {
  const ns = pod.metadata.namespace ?? 'default';
  const spec = (pod.spec ?? {}) as Record<string, unknown>;
  const ip = String((pod.status ?? {})['podIP'] ?? '');
  const env: Record<string, string> = {
    ...serviceEnv(mappings, podUid(ns, pod.metadata.name)),
    POD_NAME: pod.metadata.name,
    POD_NAMESPACE: ns,
    POD_IP: ip,
    INSTANCE_IP: ip,
    SERVICE_ACCOUNT: String(spec['serviceAccountName'] ?? 'default'),
    NODE_NAME: String(spec['nodeName'] ?? ''),
    ...packageRootEnv(),
  };
  for (const e of containerEnv) if (e.value !== undefined) env[e.name] = e.value;
  return env;
}

/**
 * netns mode: `<SERVICE>_SERVICE_HOST/_PORT` name each service's VIP, as in a real cluster (the in-pod
 * rules capture connections to it). Shaped as outbound mappings so serviceEnv builds the variables.
 */
export function serviceVipMappings(services: ReadonlyArray<Record<string, unknown>>, pod: Resource): OutboundMapping[] {
  const ns = pod.metadata.namespace ?? 'default';
  const uid = podUid(ns, pod.metadata.name);
  const out: OutboundMapping[] = [];
  for (const s of services) {
    const vip = (s['addresses'] as string[] | undefined)?.[0];
    const port = (s['ports'] as Array<{ servicePort: number }> | undefined)?.[0]?.servicePort;
    if (s['namespace'] !== ns || !vip || port === undefined) continue;
    out.push({
      workloadUid: uid,
      workload: pod.metadata.name,
      namespace: ns,
      service: String(s['name']),
      serviceNamespace: ns,
      hostname: String(s['hostname']),
      servicePort: port,
      listenAddress: vip,
      listenPort: port,
    });
  }
  return out.sort((a, b) => a.service.localeCompare(b.service));
}

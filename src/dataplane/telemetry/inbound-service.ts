// Which service an inbound connection was for: the HBONE request names a pod address and port, not the
// service VIP, so the destination reporter infers the service from the workload's own service bindings.
import type { MeshService, MeshWorkload } from '../../api/mesh.js';

/**
 * The first service (in `namespace/hostname` order, so the answer is stable) that the destination
 * workload backs on `port` — a target port, or the service port when the mapping has no target port.
 * Like ztunnel's guess of the inbound service; undefined when the workload backs none on that port.
 */
export function guessInboundService(
  destination: MeshWorkload,
  port: number,
  serviceByKey: (key: string) => MeshService | undefined,
): MeshService | undefined {
  const keys = Object.keys(destination.services).sort();
  for (const key of keys) {
    const ports = destination.services[key] ?? [];
    if (!ports.some((p) => p.targetPort === port || (p.targetPort === 0 && p.servicePort === port))) continue;
    const service = serviceByKey(key);
    if (service) return service;
  }
  return undefined;
}

/** The port of an `ip:port` / `[v6]:port` authority; undefined when there is none. */
export function portOfAuthority(authority: string): number | undefined {
  const m = /:(\d+)$/.exec(authority);
  return m ? Number(m[1]) : undefined;
}

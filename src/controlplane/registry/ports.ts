// Service ports: the application protocol of a port, and the service-port → target-port mapping, both
// for the service as a whole and per endpoint (where a named target port is resolved on the workload).
import type { PortMapping } from '../../api/mesh.js';

export type AppProtocol = NonNullable<PortMapping['appProtocol']>;

/** One service port as declared, before it is resolved for a particular workload. */
export interface DeclaredPort {
  port: number;
  /** Port name, used for protocol selection by prefix (`http-web`). */
  name?: string;
  /** A numeric target port. */
  targetNumber?: number;
  /** A port name to look up on the workload (Service `targetPort: http`, ServiceEntry endpoint `ports`). */
  targetName?: string;
  appProtocol?: AppProtocol;
}

/** Kubernetes `appProtocol` / Istio `protocol` values, lower-cased. */
const PROTOCOLS: Record<string, AppProtocol> = {
  http: 'HTTP11',
  http2: 'HTTP2',
  h2c: 'HTTP2',
  'kubernetes.io/h2c': 'HTTP2',
  grpc: 'GRPC',
};

/** Istio's port-name convention: `<protocol>` or `<protocol>-<suffix>`. */
const NAME_PREFIXES: Array<[string, AppProtocol]> = [
  ['http2', 'HTTP2'],
  ['grpc', 'GRPC'],
  ['http', 'HTTP11'],
];

/** The declared protocol (appProtocol / ServiceEntry protocol), else from the port name; undefined for plain TCP. */
export function appProtocolOf(declared: string | undefined, name: string | undefined): AppProtocol | undefined {
  if (declared) {
    const p = PROTOCOLS[declared.toLowerCase()];
    if (p) return p;
  }
  if (name) {
    const lower = name.toLowerCase();
    for (const [prefix, proto] of NAME_PREFIXES) {
      if (lower === prefix || lower.startsWith(prefix + '-')) return proto;
    }
  }
  return undefined;
}

function mapping(servicePort: number, targetPort: number, appProtocol: AppProtocol | undefined): PortMapping {
  return appProtocol ? { servicePort, targetPort, appProtocol } : { servicePort, targetPort };
}

/** The service-level mapping: a named target cannot be resolved without a workload, so it maps to the service port. */
export function servicePortMappings(ports: DeclaredPort[]): PortMapping[] {
  return ports.map((p) => mapping(p.port, p.targetNumber ?? p.port, p.appProtocol));
}

/** The mapping for one endpoint: a named target resolves through the workload's named ports when it has that name. */
export function endpointPortMappings(ports: DeclaredPort[], namedPorts: Record<string, number>): PortMapping[] {
  return ports.map((p) => {
    const named = p.targetName !== undefined ? namedPorts[p.targetName] : undefined;
    return mapping(p.port, named ?? p.targetNumber ?? p.port, p.appProtocol);
  });
}

/** `spec.ports` of a v1 Service. UDP/SCTP ports are left out: the mesh carries TCP only. */
export function kubernetesServicePorts(spec: Record<string, unknown>): DeclaredPort[] {
  const out: DeclaredPort[] = [];
  const ports = Array.isArray(spec['ports']) ? (spec['ports'] as Array<Record<string, unknown>>) : [];
  for (const p of ports) {
    if (typeof p?.['port'] !== 'number') continue;
    if (typeof p['protocol'] === 'string' && p['protocol'] !== 'TCP') continue;
    const name = typeof p['name'] === 'string' ? p['name'] : undefined;
    const target = p['targetPort'];
    const declared: DeclaredPort = { port: p['port'] };
    if (name !== undefined) declared.name = name;
    if (typeof target === 'number') declared.targetNumber = target;
    else if (typeof target === 'string' && /^\d+$/.test(target)) declared.targetNumber = Number(target);
    else if (typeof target === 'string' && target) declared.targetName = target;
    const proto = appProtocolOf(typeof p['appProtocol'] === 'string' ? p['appProtocol'] : undefined, name);
    if (proto) declared.appProtocol = proto;
    out.push(declared);
  }
  return out;
}

/** `spec.ports` of a ServiceEntry; endpoints name their target ports by the ServiceEntry port's name. */
export function serviceEntryPorts(spec: Record<string, unknown>): DeclaredPort[] {
  const out: DeclaredPort[] = [];
  const ports = Array.isArray(spec['ports']) ? (spec['ports'] as Array<Record<string, unknown>>) : [];
  for (const p of ports) {
    if (typeof p?.['number'] !== 'number') continue;
    const name = typeof p['name'] === 'string' ? p['name'] : undefined;
    const declared: DeclaredPort = { port: p['number'] };
    if (name !== undefined) {
      declared.name = name;
      declared.targetName = name;
    }
    if (typeof p['targetPort'] === 'number' && p['targetPort'] > 0) declared.targetNumber = p['targetPort'];
    const proto = appProtocolOf(typeof p['protocol'] === 'string' ? p['protocol'] : undefined, name);
    if (proto) declared.appProtocol = proto;
    out.push(declared);
  }
  return out;
}

// The TLS server name (SNI) a client sends to a sidecar's INBOUND_PORT: Istio's DNS-SRV form of the outbound
// cluster, `outbound_.<service port>_.<subset>_.<service hostname>`, e.g.
// `outbound_.9080_._.reviews.default.svc.cluster.local` (empty subset). Local mode has no iptables to
// recover the original destination, so the sidecar reads the service and port from this name and
// forwards to its pod IP at that service port's target port.

const PREFIX = 'outbound_.';
const SEPARATOR = '_.';
/** Highest TCP port. */
const MAX_PORT = 65_535;

export function sidecarServerName(hostname: string, servicePort: number, subset = ''): string {
  return `${PREFIX}${servicePort}${SEPARATOR}${subset}${SEPARATOR}${hostname}`;
}

export interface SidecarTarget {
  servicePort: number;
  subset: string;
  hostname: string;
}

/** The service and port a server name asks for; undefined when it is not in the form above. */
export function parseSidecarServerName(serverName: string | false | null | undefined): SidecarTarget | undefined {
  if (!serverName || !serverName.startsWith(PREFIX)) return undefined;
  const rest = serverName.slice(PREFIX.length);
  const portEnd = rest.indexOf(SEPARATOR);
  if (portEnd <= 0) return undefined;
  const portText = rest.slice(0, portEnd);
  if (!/^\d{1,5}$/.test(portText)) return undefined;
  const servicePort = Number(portText);
  if (servicePort < 1 || servicePort > MAX_PORT) return undefined;
  const afterPort = rest.slice(portEnd + SEPARATOR.length);
  const subsetEnd = afterPort.indexOf(SEPARATOR);
  if (subsetEnd < 0) return undefined;
  const hostname = afterPort.slice(subsetEnd + SEPARATOR.length);
  if (!hostname) return undefined;
  return { servicePort, subset: afterPort.slice(0, subsetEnd), hostname: hostname.toLowerCase() };
}

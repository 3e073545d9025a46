// Parses the `:authority` of an HBONE CONNECT: the destination workload's `ip:port` (`[v6]:port`).
import { isIP } from 'node:net';

export interface HboneTarget {
  host: string;
  port: number;
}

const MAX_PORT = 65535;

/** undefined unless `authority` is a literal IP address and a port 1–65535; host names are refused. */
export function parseHboneAuthority(authority: string | undefined): HboneTarget | undefined {
  if (!authority) return undefined;
  let host: string;
  let portText: string;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close < 0 || authority[close + 1] !== ':') return undefined;
    host = authority.slice(1, close);
    portText = authority.slice(close + 2);
    if (isIP(host) !== 6) return undefined;
  } else {
    const colon = authority.lastIndexOf(':');
    if (colon < 0) return undefined;
    host = authority.slice(0, colon);
    portText = authority.slice(colon + 1);
    if (isIP(host) !== 4) return undefined;
  }
  if (!/^[0-9]{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port < 1 || port > MAX_PORT) return undefined;
  return { host, port };
}

export function formatHboneAuthority(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

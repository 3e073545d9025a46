// IP addresses as the xDS wire carries them: raw network-order bytes (4 for IPv4, 16 for IPv6),
// and CIDRs as (bytes, prefix length). The mesh model keeps text; this is the only translation.
import { isIPv4, isIPv6 } from 'node:net';
import { L4meshError } from '../errors/index.js';

const IPV4_BYTES = 4;
const IPV6_BYTES = 16;

function protocolError(message: string): L4meshError {
  return new L4meshError('L4MESH_ERR_PROTOCOL', message);
}

export function ipToBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  if (!isIPv6(ip)) throw protocolError(`"${ip}" is not an IPv4 or IPv6 address; check the workload/service addresses`);
  let text = ip;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  // An embedded dotted quad (::ffff:1.2.3.4) stands for the last two 16-bit groups.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const q = tail.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, lastColon + 1)}${((q[0] << 8) | q[1]).toString(16)}:${((q[2] << 8) | q[3]).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const headGroups = head ? head.split(':') : [];
  const restGroups = rest ? rest.split(':') : [];
  const zeros = rest === undefined ? 0 : 8 - headGroups.length - restGroups.length;
  const groups = [...headGroups, ...Array<string>(zeros).fill('0'), ...restGroups];
  const out = Buffer.alloc(IPV6_BYTES);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** Text form of raw IP bytes; IPv6 in the RFC 5952 canonical form (lowercase, longest zero run as `::`). */
export function bytesToIp(bytes: Uint8Array): string {
  if (bytes.length === IPV4_BYTES) return Array.from(bytes).join('.');
  if (bytes.length !== IPV6_BYTES) {
    throw protocolError(`an IP address must be 4 or 16 bytes on the wire, got ${bytes.length}`);
  }
  const groups: number[] = [];
  for (let i = 0; i < IPV6_BYTES; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  // Find the longest run of zero groups (length >= 2, first one wins on ties).
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** `10.0.0.0/8` → bytes + length; a bare address is a host route (/32 or /128). */
export function cidrToProto(cidr: string): { address: Buffer; length: number } {
  const slash = cidr.indexOf('/');
  const address = ipToBytes(slash < 0 ? cidr : cidr.slice(0, slash));
  const max = address.length * 8;
  const length = slash < 0 ? max : Number(cidr.slice(slash + 1));
  if (!Number.isInteger(length) || length < 0 || length > max) {
    throw protocolError(`bad prefix length in CIDR "${cidr}" (must be 0..${max})`);
  }
  return { address, length };
}

export function cidrFromProto(address: Uint8Array, length: number): string {
  return `${bytesToIp(address)}/${length}`;
}

// IP address text → canonical form and bytes, and CIDR membership, for address lookups and policy matching.
import { isIPv4, isIPv6 } from 'node:net';

/** A parsed address: 4 bytes for IPv4 (IPv4-mapped IPv6 is folded to IPv4), 16 bytes for IPv6. */
export type IpBytes = Uint8Array;

export interface Cidr {
  bytes: IpBytes;
  prefixLength: number;
}

// Sockets on a dual-stack listener report IPv4 peers as `::ffff:a.b.c.d`; the registry writes `a.b.c.d`.
// Folding the mapped form to IPv4 makes both spellings find the same workload and match the same CIDR.
const IPV4_MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

function parseIpv4(text: string): IpBytes {
  return Uint8Array.from(text.split('.'), (part) => Number(part));
}

function parseIpv6(text: string): IpBytes {
  const out = new Uint8Array(16);
  let body = text;
  // An embedded dotted-quad tail (`::ffff:10.0.0.1`) supplies the last 32 bits.
  let tail: IpBytes | undefined;
  const lastColon = body.lastIndexOf(':');
  if (body.includes('.', lastColon)) {
    tail = parseIpv4(body.slice(lastColon + 1));
    body = body.slice(0, lastColon + 1) + '0:0';
  }
  const [head, rest] = body.split('::') as [string, string | undefined];
  const headGroups = head === '' ? [] : head.split(':');
  const restGroups = rest === undefined || rest === '' ? [] : rest.split(':');
  const groups =
    rest === undefined
      ? headGroups
      : [...headGroups, ...new Array<string>(8 - headGroups.length - restGroups.length).fill('0'), ...restGroups];
  groups.forEach((group, i) => {
    const value = parseInt(group, 16);
    out[i * 2] = value >> 8;
    out[i * 2 + 1] = value & 0xff;
  });
  if (tail) out.set(tail, 12);
  return out;
}

function isIpv4Mapped(bytes: IpBytes): boolean {
  return bytes.length === 16 && IPV4_MAPPED_PREFIX.every((b, i) => bytes[i] === b);
}

/** Bytes of an IP address in text form (IPv6 zone ids are ignored); undefined when it is not an address. */
export function parseIp(text: string): IpBytes | undefined {
  const zone = text.indexOf('%');
  const bare = zone >= 0 ? text.slice(0, zone) : text;
  if (isIPv4(bare)) return parseIpv4(bare);
  if (!isIPv6(bare)) return undefined;
  const bytes = parseIpv6(bare);
  return isIpv4Mapped(bytes) ? bytes.slice(12) : bytes;
}

function formatIp(bytes: IpBytes): string {
  if (bytes.length === 4) return bytes.join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  // RFC 5952: compress the longest run (of two or more) of zero groups, the first one on a tie.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/**
 * One spelling per address, so that `::1`, `0:0::1` and `::ffff:127.0.0.1` vs `127.0.0.1` index alike.
 * Text that is not an address is returned unchanged (it can then only match itself).
 */
export function canonicalIp(text: string): string {
  // Fast path: net.isIPv4 rejects leading zeros, so a valid dotted quad is already canonical.
  if (isIPv4(text)) return text;
  const bytes = parseIp(text);
  return bytes ? formatIp(bytes) : text;
}

/** `10.0.0.0/8`, `fd00::/8`, or a bare address (a host route); undefined when malformed. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const bytes = parseIp(slash >= 0 ? text.slice(0, slash) : text);
  if (!bytes) return undefined;
  const maxLength = bytes.length * 8;
  if (slash < 0) return { bytes, prefixLength: maxLength };
  const lengthText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lengthText)) return undefined;
  let prefixLength = Number(lengthText);
  // `::ffff:10.0.0.0/104` folds to IPv4; its prefix length shrinks by the 96 mapped bits.
  if (bytes.length === 4 && !isIPv4(text.slice(0, slash))) prefixLength -= 96;
  if (prefixLength < 0 || prefixLength > maxLength) return undefined;
  return { bytes, prefixLength };
}

/** Whether `address` lies inside `cidr`; addresses of the other family never do. */
export function cidrContains(cidr: Cidr, address: IpBytes): boolean {
  if (cidr.bytes.length !== address.length) return false;
  const fullBytes = cidr.prefixLength >> 3;
  for (let i = 0; i < fullBytes; i++) if (cidr.bytes[i] !== address[i]) return false;
  const remainingBits = cidr.prefixLength & 7;
  if (remainingBits === 0) return true;
  const mask = (0xff << (8 - remainingBits)) & 0xff;
  return (cidr.bytes[fullBytes]! & mask) === (address[fullBytes]! & mask);
}

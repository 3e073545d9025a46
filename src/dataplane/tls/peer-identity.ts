// Reads the SPIFFE identity out of the certificates of an established TLS connection.
import type { TLSSocket } from 'node:tls';
import { SPIFFE_SCHEME } from '../../identity/spiffe.js';

const URI_PREFIX = 'URI:';

/**
 * The spiffe:// URI SANs in Node's `subjectaltname` text (`URI:spiffe://…, DNS:…`). Node quotes a
 * value as a JSON string when it holds a separator or quote, so those are decoded, not split blindly.
 */
export function spiffeIdsInSubjectAltName(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  const ids: string[] = [];
  let i = 0;
  while (i < subjectAltName.length) {
    let end: number;
    let entry: string;
    const colon = subjectAltName.indexOf(':', i);
    if (colon >= 0 && subjectAltName[colon + 1] === '"') {
      // Quoted value: find the closing quote that is not escaped.
      let j = colon + 2;
      while (j < subjectAltName.length && subjectAltName[j] !== '"') j += subjectAltName[j] === '\\' ? 2 : 1;
      end = j + 1;
      let value: string;
      try {
        value = JSON.parse(subjectAltName.slice(colon + 1, end)) as string;
      } catch {
        value = '';
      }
      entry = subjectAltName.slice(i, colon + 1) + value;
    } else {
      end = subjectAltName.indexOf(', ', i);
      if (end < 0) end = subjectAltName.length;
      entry = subjectAltName.slice(i, end);
    }
    if (entry.startsWith(URI_PREFIX + SPIFFE_SCHEME)) ids.push(entry.slice(URI_PREFIX.length));
    i = subjectAltName.indexOf(', ', end);
    if (i < 0) break;
    i += 2;
  }
  return ids;
}

/** A SPIFFE certificate carries exactly one spiffe:// URI SAN; anything else is no identity. */
function singleId(subjectAltName: string | undefined): string | undefined {
  const ids = spiffeIdsInSubjectAltName(subjectAltName);
  return ids.length === 1 ? ids[0] : undefined;
}

/** The peer's SPIFFE id; undefined when it sent no certificate or the certificate has no single id. */
export function peerSpiffeId(socket: TLSSocket): string | undefined {
  return singleId(socket.getPeerX509Certificate()?.subjectAltName);
}

/** The SPIFFE id of the certificate this side presented on the connection. */
export function localSpiffeId(socket: TLSSocket): string | undefined {
  return singleId(socket.getX509Certificate()?.subjectAltName);
}

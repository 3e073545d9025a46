// The TLS server name (SNI) a client sends to ask a node proxy for one of its workload identities.
//
// A node proxy serves many workload identities on one HBONE port, so the client names the identity it
// expects with SNI and the server answers with that identity's certificate. SPIFFE URIs are not valid
// host names, so the id is mapped to a DNS-safe name:
//
//   spiffe://<trust domain>/ns/<namespace>/sa/<service account>  →  <sa>.<ns>.sa.<trust domain>
//
// lower-cased, e.g. `spiffe://cluster.local/ns/default/sa/bookinfo-ratings` →
// `bookinfo-ratings.default.sa.cluster.local`. The server never parses this name: it computes the
// name of each of its local identities with this same function and looks the SNI up in that table.
// Ids that would not make a valid DNS name (odd characters, labels over 63 bytes, names over 253 bytes)
// map to `<sha256 of the id, 32 hex>.id.l4mesh` instead, which is still deterministic.
import { createHash } from 'node:crypto';
import { parseSpiffeUri } from '../../identity/spiffe.js';
import { HASHED_IDENTITY_NAME_SUFFIX } from '../../config/mesh-constants.js';

/** RFC 1035 limits. */
const MAX_LABEL_LENGTH = 63;
const MAX_NAME_LENGTH = 253;
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
/** 128 bits of the hash: collisions between identities of one node are not a practical concern. */
const HASHED_NAME_HEX_LENGTH = 32;

function isDnsName(name: string): boolean {
  if (name.length > MAX_NAME_LENGTH) return false;
  for (const label of name.split('.')) {
    if (label.length > MAX_LABEL_LENGTH || !DNS_LABEL.test(label)) return false;
  }
  return true;
}

export function hboneServerName(spiffeId: string): string {
  const id = parseSpiffeUri(spiffeId);
  if (id) {
    const name = `${id.serviceAccount}.${id.namespace}.sa.${id.trustDomain}`.toLowerCase();
    if (isDnsName(name)) return name;
  }
  const digest = createHash('sha256').update(spiffeId).digest('hex').slice(0, HASHED_NAME_HEX_LENGTH);
  return `${digest}.${HASHED_IDENTITY_NAME_SUFFIX}`;
}

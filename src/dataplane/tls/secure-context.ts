// TLS settings of HBONE: TLS 1.3 only, ECDSA P-256 certificates, peers verified against the mesh root.
import { createSecureContext, type ConnectionOptions, type PeerCertificate, type SecureContext } from 'node:tls';
import { L4meshError } from '../../errors/index.js';
import { spiffeIdsInSubjectAltName } from './peer-identity.js';

/** One workload identity's key, certificate chain (leaf first) and the mesh root it trusts. */
export interface TlsMaterial {
  keyPem: string;
  chainPem: string[];
  rootPem: string;
}

/** TLS 1.3 only: one round trip to establish, no renegotiation, no legacy cipher suites. */
export const HBONE_TLS_MIN_VERSION = 'TLSv1.3';
export const HBONE_ALPN = 'h2';
/** P-256 is what the mesh CA issues; X25519 first for key exchange because it is fastest. */
const ECDH_CURVES = 'X25519:P-256';

/**
 * A SecureContext for one identity: presents `chainPem` and trusts only `rootPem`. Used both for the
 * server side (returned from the SNI callback) and the client side of HBONE.
 */
export function createHboneSecureContext(material: TlsMaterial): SecureContext {
  try {
    return createSecureContext({
      key: material.keyPem,
      cert: material.chainPem.join(''),
      ca: material.rootPem,
      minVersion: HBONE_TLS_MIN_VERSION,
      ecdhCurve: ECDH_CURVES,
    });
  } catch (err) {
    throw new L4meshError(
      'L4MESH_ERR_CERTIFICATE',
      `cannot load the workload key and certificate chain: ${(err as Error).message} — check that the key ` +
        'is a PEM ECDSA P-256 key matching the first certificate of the chain',
      { cause: err },
    );
  }
}

/** The error a client reports when the server proved a different identity than the one it dialed. */
export function identityMismatchError(expected: string, got: string | undefined, where: string): L4meshError {
  return new L4meshError(
    'L4MESH_ERR_IDENTITY_MISMATCH',
    `${where} presented identity ${got ?? '<none>'}, expected ${expected} — the address may belong to ` +
      'another workload now, or the destination proxy has not loaded that workload\'s certificate',
  );
}

/**
 * tls.connect options for dialing a node proxy as `material`'s identity and accepting only a server
 * whose certificate chains to the mesh root and carries exactly `expectedServerId`.
 */
export function hboneClientTlsOptions(
  context: SecureContext,
  serverName: string,
  expectedServerId: string,
  where: string,
): ConnectionOptions {
  return {
    secureContext: context,
    servername: serverName,
    ALPNProtocols: [HBONE_ALPN],
    minVersion: HBONE_TLS_MIN_VERSION,
    rejectUnauthorized: true,
    // The chain was verified against the mesh root already; the name check is the SPIFFE-id check.
    checkServerIdentity: (_host: string, cert: PeerCertificate): Error | undefined => {
      const ids = spiffeIdsInSubjectAltName(cert.subjectaltname);
      const got = ids.length === 1 ? ids[0] : undefined;
      return got === expectedServerId ? undefined : identityMismatchError(expectedServerId, got, where);
    },
  };
}

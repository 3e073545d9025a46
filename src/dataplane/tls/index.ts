// TLS and identity plumbing of the data plane: SNI names, SecureContexts, SPIFFE ids of peers.
export { hboneServerName } from './server-name.js';
export { peerSpiffeId, localSpiffeId, spiffeIdsInSubjectAltName } from './peer-identity.js';
export {
  type TlsMaterial,
  HBONE_ALPN,
  HBONE_TLS_MIN_VERSION,
  createHboneSecureContext,
  hboneClientTlsOptions,
  identityMismatchError,
} from './secure-context.js';
export { LocalIdentityTable } from './local-identities.js';

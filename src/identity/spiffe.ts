// SPIFFE identities of the form spiffe://<trust domain>/ns/<namespace>/sa/<service account>.

export const SPIFFE_SCHEME = 'spiffe://';

export interface SpiffeId {
  trustDomain: string;
  namespace: string;
  serviceAccount: string;
}

export function spiffeUri(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `${SPIFFE_SCHEME}${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

/** Parses `spiffe://td/ns/N/sa/S` (or the scheme-less form Istio policies use); undefined when it is not one. */
export function parseSpiffeUri(uri: string): SpiffeId | undefined {
  const rest = uri.startsWith(SPIFFE_SCHEME) ? uri.slice(SPIFFE_SCHEME.length) : uri;
  const parts = rest.split('/');
  if (parts.length !== 5 || parts[1] !== 'ns' || parts[3] !== 'sa') return undefined;
  const [trustDomain, , namespace, , serviceAccount] = parts as [string, string, string, string, string];
  if (!trustDomain || !namespace || !serviceAccount) return undefined;
  return { trustDomain, namespace, serviceAccount };
}

/** Istio's principal spelling (no scheme), used by AuthorizationPolicy `principals`. */
export function principalOf(uri: string): string {
  return uri.startsWith(SPIFFE_SCHEME) ? uri.slice(SPIFFE_SCHEME.length) : uri;
}

// The resource kinds l4mesh accepts, with their API group, plural and kubectl short names.

export interface KindInfo {
  kind: string;
  group: string; // '' for the core group
  version: string;
  plural: string;
  singular: string;
  shortNames: string[];
  namespaced: boolean;
}

export const KINDS: readonly KindInfo[] = [
  { kind: 'Service', group: '', version: 'v1', plural: 'services', singular: 'service', shortNames: ['svc'], namespaced: true },
  { kind: 'ServiceAccount', group: '', version: 'v1', plural: 'serviceaccounts', singular: 'serviceaccount', shortNames: ['sa'], namespaced: true },
  { kind: 'Namespace', group: '', version: 'v1', plural: 'namespaces', singular: 'namespace', shortNames: ['ns'], namespaced: false },
  // Pods are written by the local runtime (one per running Deployment replica), not usually by users.
  { kind: 'Pod', group: '', version: 'v1', plural: 'pods', singular: 'pod', shortNames: ['po'], namespaced: true },
  { kind: 'Deployment', group: 'apps', version: 'v1', plural: 'deployments', singular: 'deployment', shortNames: ['deploy'], namespaced: true },
  { kind: 'WorkloadEntry', group: 'networking.istio.io', version: 'v1', plural: 'workloadentries', singular: 'workloadentry', shortNames: ['we'], namespaced: true },
  { kind: 'ServiceEntry', group: 'networking.istio.io', version: 'v1', plural: 'serviceentries', singular: 'serviceentry', shortNames: ['se'], namespaced: true },
  { kind: 'VirtualService', group: 'networking.istio.io', version: 'v1', plural: 'virtualservices', singular: 'virtualservice', shortNames: ['vs'], namespaced: true },
  { kind: 'DestinationRule', group: 'networking.istio.io', version: 'v1', plural: 'destinationrules', singular: 'destinationrule', shortNames: ['dr'], namespaced: true },
  { kind: 'PeerAuthentication', group: 'security.istio.io', version: 'v1', plural: 'peerauthentications', singular: 'peerauthentication', shortNames: ['pa'], namespaced: true },
  { kind: 'AuthorizationPolicy', group: 'security.istio.io', version: 'v1', plural: 'authorizationpolicies', singular: 'authorizationpolicy', shortNames: ['ap'], namespaced: true },
  { kind: 'Telemetry', group: 'telemetry.istio.io', version: 'v1', plural: 'telemetries', singular: 'telemetry', shortNames: ['telemetry'], namespaced: true },
];

/** apiVersion values accepted per group; Istio's v1beta1/v1alpha3 spellings are accepted and stored as v1. */
export const ACCEPTED_VERSIONS: Readonly<Record<string, readonly string[]>> = {
  '': ['v1'],
  apps: ['v1'],
  'networking.istio.io': ['v1', 'v1beta1', 'v1alpha3'],
  'security.istio.io': ['v1', 'v1beta1'],
  'telemetry.istio.io': ['v1', 'v1alpha1'],
};

export function apiVersionOf(info: KindInfo): string {
  return info.group ? `${info.group}/${info.version}` : info.version;
}

export function kindByName(kind: string): KindInfo | undefined {
  return KINDS.find((k) => k.kind === kind);
}

/** Resolves what a user types after `get`/`delete`: kind, plural, singular or short name, any case, optionally `plural.group`. */
export function resolveKind(word: string): KindInfo | undefined {
  const w = word.toLowerCase();
  return KINDS.find(
    (k) =>
      k.kind.toLowerCase() === w ||
      k.plural === w ||
      k.singular === w ||
      k.shortNames.includes(w) ||
      (k.group !== '' && (w === `${k.plural}.${k.group}` || w === `${k.singular}.${k.group}`)),
  );
}

export function kindByPlural(group: string, plural: string): KindInfo | undefined {
  return KINDS.find((k) => k.group === group && k.plural === plural);
}

/** kubectl's `kind.group` spelling used in `apply` output, e.g. `deployment.apps`, `serviceaccount`. */
export function qualifiedName(info: KindInfo): string {
  return info.group ? `${info.singular}.${info.group}` : info.singular;
}

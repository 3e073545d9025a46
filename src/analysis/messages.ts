// The findings `l4mesh analyze` reports: stable codes, Istio's where istioctl analyze has the same check
// (IST0101, IST0118, IST0127, IST0173), l4mesh's own (L4M…) for what only an L4 mesh without Envoy has.

export type Level = 'Error' | 'Warning' | 'Info';

/** Severity order for `--failure-threshold` and for sorting (most severe first). */
export const LEVEL_RANK: Readonly<Record<Level, number>> = { Error: 3, Warning: 2, Info: 1 };

export interface MessageType {
  code: string;
  name: string;
  level: Level;
}

/** Every code analyze can report. A code keeps its meaning forever; retired codes are not reused. */
export const MESSAGES = {
  referencedResourceNotFound: { code: 'IST0101', name: 'ReferencedResourceNotFound', level: 'Error' },
  portNameNotUnderNamingConvention: { code: 'IST0118', name: 'PortNameIsNotUnderNamingConvention', level: 'Info' },
  noMatchingWorkloads: { code: 'IST0127', name: 'NoMatchingWorkloadsFound', level: 'Warning' },
  subsetSelectsNoPods: { code: 'IST0173', name: 'DestinationRuleSubsetNotSelectPods', level: 'Warning' },
  ruleNeverMatches: { code: 'L4M0001', name: 'AuthorizationRuleNeverMatches', level: 'Warning' },
  ruleDeniesMore: { code: 'L4M0002', name: 'AuthorizationRuleDeniesMore', level: 'Warning' },
  strictWithUnenrolledClients: { code: 'L4M0003', name: 'StrictMtlsWithUnenrolledClients', level: 'Warning' },
  serviceWithoutSelector: { code: 'L4M0004', name: 'ServiceWithoutSelector', level: 'Warning' },
  telemetryUnknownTag: { code: 'L4M0005', name: 'TelemetryRemovesUnknownTag', level: 'Warning' },
  telemetryNewTag: { code: 'L4M0006', name: 'TelemetryAddsTag', level: 'Info' },
  httpRoutesOnTcpPort: { code: 'L4M0007', name: 'VirtualServiceHttpRoutesOnTcpService', level: 'Warning' },
  policyNotEnforcedAtL4: { code: 'L4M0008', name: 'AuthorizationPolicyNotEnforcedAtL4', level: 'Info' },
} as const satisfies Record<string, MessageType>;

export interface ResourceRef {
  kind: string;
  namespace: string;
  name: string;
}

/** One finding: what is wrong, where, and what to do about it. */
export interface Finding {
  code: string;
  name: string;
  level: Level;
  resource: ResourceRef;
  /** Where in the resource, when one field is at fault (`spec.http[0].route[1].destination.subset`). */
  field?: string;
  message: string;
  fix: string;
}

export function finding(type: MessageType, resource: ResourceRef, message: string, fix: string, field?: string): Finding {
  const f: Finding = { code: type.code, name: type.name, level: type.level, resource, message, fix };
  if (field !== undefined) f.field = field;
  return f;
}

/** `VirtualService default/reviews`, as istioctl analyze names a resource. */
export function resourceName(r: ResourceRef): string {
  return r.namespace ? `${r.kind} ${r.namespace}/${r.name}` : `${r.kind} ${r.name}`;
}

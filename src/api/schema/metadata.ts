// Schema and naming rules of Kubernetes ObjectMeta: names, namespaces, label and annotation keys.
import { any, arr, dropped, map, obj, required, str, strings, type Schema } from './engine.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

// Kubernetes limits: a label is one DNS label (63), a subdomain is a DNS name (253).
const DNS_LABEL_MAX = 63;
const DNS_SUBDOMAIN_MAX = 253;

export type NameRule = 'dns1123Label' | 'dns1035Label' | 'dns1123Subdomain';

/** Returns a problem text when `name` breaks `rule`, else undefined. */
export function nameProblem(name: string, rule: NameRule): string | undefined {
  const got = `got ${JSON.stringify(name)}`;
  switch (rule) {
    case 'dns1123Label':
      if (name.length <= DNS_LABEL_MAX && DNS1123_LABEL.test(name)) return undefined;
      return `must be an RFC 1123 label (lowercase letters, digits and "-", starting and ending with a letter or digit, at most ${DNS_LABEL_MAX} characters), ${got}`;
    case 'dns1035Label':
      if (name.length <= DNS_LABEL_MAX && DNS1035_LABEL.test(name)) return undefined;
      return `must be an RFC 1035 label (lowercase letters, digits and "-", starting with a letter and ending with a letter or digit, at most ${DNS_LABEL_MAX} characters), ${got}`;
    case 'dns1123Subdomain':
      if (name.length <= DNS_SUBDOMAIN_MAX && DNS1123_SUBDOMAIN.test(name)) return undefined;
      return `must be an RFC 1123 subdomain (lowercase letters, digits, "-" and ".", starting and ending with a letter or digit, at most ${DNS_SUBDOMAIN_MAX} characters), ${got}`;
  }
}

/** Which name rule Kubernetes applies to each kind; Services need DNS-1035 because their name becomes a DNS label and env var prefix. */
export function nameRuleOf(kind: string): NameRule {
  if (kind === 'Service') return 'dns1035Label';
  if (kind === 'Namespace') return 'dns1123Label';
  return 'dns1123Subdomain';
}

/** Label and annotation keys: `[prefix/]name`, prefix a DNS subdomain, name at most 63 characters. */
function qualifiedKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > DNS_SUBDOMAIN_MAX || !DNS1123_SUBDOMAIN.test(prefix))) {
    return `key prefix must be an RFC 1123 subdomain, got ${JSON.stringify(prefix)}`;
  }
  if (name.length > DNS_LABEL_MAX || !QUALIFIED_NAME_PART.test(name)) {
    return `key must be at most ${DNS_LABEL_MAX} letters, digits, "-", "_" or ".", starting and ending with a letter or digit, got ${JSON.stringify(key)}`;
  }
  return undefined;
}

/** A label value: empty, or at most 63 characters of the qualified-name alphabet. */
export function labelValueProblem(value: string): string | undefined {
  if (value.length <= DNS_LABEL_MAX && LABEL_VALUE.test(value)) return undefined;
  return `label value must be at most ${DNS_LABEL_MAX} letters, digits, "-", "_" or ".", starting and ending with a letter or digit, got ${JSON.stringify(value)}`;
}

export const objectMeta: Schema = obj({
  name: required(str()),
  namespace: str(),
  labels: map(str(), qualifiedKeyProblem),
  annotations: map(str(), qualifiedKeyProblem),
  ownerReferences: arr(any()),
  finalizers: strings(),
  // Set by the store (or copied from `get -o yaml` output); never taken from input.
  resourceVersion: dropped(),
  uid: dropped(),
  creationTimestamp: dropped(),
  generation: dropped(),
  managedFields: dropped(),
  selfLink: dropped(),
  deletionTimestamp: dropped(),
  deletionGracePeriodSeconds: dropped(),
});

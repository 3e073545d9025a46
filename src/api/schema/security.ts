// Schemas of security.istio.io PeerAuthentication and AuthorizationPolicy (istio/api security/v1).
import { policyAttachment, workloadSelector } from './common.js';
import { any, arr, enumOf, map, obj, required, str, strings, type KindSchema } from './engine.js';

const mutualTls = obj({ mode: enumOf('UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT') });

/** portLevelMtls is keyed by port number (map<uint32, MutualTLS>); YAML gives the keys as text. */
function portKey(key: string): string | undefined {
  const n = Number(key);
  return /^\d+$/.test(key) && n >= 1 && n <= 65535 ? undefined : `port must be a number between 1 and 65535, got ${JSON.stringify(key)}`;
}

const peerAuthenticationSpec = obj({
  selector: workloadSelector,
  mtls: mutualTls,
  portLevelMtls: map(mutualTls, portKey),
});

const source = obj({
  principals: strings(),
  notPrincipals: strings(),
  requestPrincipals: strings(),
  notRequestPrincipals: strings(),
  namespaces: strings(),
  notNamespaces: strings(),
  serviceAccounts: strings(),
  notServiceAccounts: strings(),
  ipBlocks: strings(),
  notIpBlocks: strings(),
  remoteIpBlocks: strings(),
  notRemoteIpBlocks: strings(),
  trustDomains: strings(),
  notTrustDomains: strings(),
});

// Ports are strings in the upstream API ("9080"), like every other field of an Operation.
const operation = obj({
  hosts: strings(),
  notHosts: strings(),
  ports: strings(),
  notPorts: strings(),
  methods: strings(),
  notMethods: strings(),
  paths: strings(),
  notPaths: strings(),
});

const condition = obj({
  key: required(str()),
  values: strings(),
  notValues: strings(),
});

const rule = obj({
  from: arr(obj({ source })),
  to: arr(obj({ operation })),
  when: arr(condition),
});

const authorizationPolicySpec = obj({
  ...policyAttachment,
  action: enumOf('ALLOW', 'DENY', 'AUDIT', 'CUSTOM'),
  provider: any(),
  rules: arr(rule),
});

export const SECURITY_SCHEMAS: Readonly<Record<string, KindSchema>> = {
  PeerAuthentication: { spec: peerAuthenticationSpec },
  AuthorizationPolicy: { spec: authorizationPolicySpec },
};

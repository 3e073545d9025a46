// Schemas of networking.istio.io WorkloadEntry, ServiceEntry and DestinationRule (istio/api
// networking/v1 field names). VirtualService lives in virtualservice.ts.
import {
  FieldProblem,
  any,
  arr,
  duration,
  enumOf,
  int,
  map,
  obj,
  port,
  required,
  str,
  stringMap,
  strings,
  type KindSchema,
  type ObjectCheck,
  type Schema,
} from './engine.js';
import { portSelector, workloadSelector } from './common.js';
import { VIRTUAL_SERVICE_SCHEMA } from './virtualservice.js';

const workloadEntrySpec = obj({
  address: str(),
  ports: map(port()),
  labels: stringMap(),
  network: str(),
  locality: str(),
  weight: int(0, 0xffff_ffff),
  serviceAccount: str(),
});

const serviceEntryPort = obj({
  number: required(port()),
  protocol: str(),
  name: required(str()),
  targetPort: port(),
});

const serviceEntrySpec = obj({
  hosts: required(strings()),
  addresses: strings(),
  ports: arr(serviceEntryPort),
  location: enumOf('MESH_EXTERNAL', 'MESH_INTERNAL'),
  resolution: enumOf('NONE', 'STATIC', 'DNS', 'DNS_ROUND_ROBIN', 'DYNAMIC_DNS'),
  endpoints: arr(workloadEntrySpec),
  workloadSelector,
  exportTo: strings(),
  subjectAltNames: strings(),
});

const loadBalancer = obj({
  simple: enumOf('UNSPECIFIED', 'RANDOM', 'PASSTHROUGH', 'ROUND_ROBIN', 'LEAST_REQUEST', 'LEAST_CONN'),
  consistentHash: any(),
  localityLbSetting: any(),
  zoneAwareLbSetting: any(),
  warmupDurationSecs: duration(),
  warmup: any(),
});

const clientTls = obj({
  mode: enumOf('DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL'),
  clientCertificate: any(),
  privateKey: any(),
  caCertificates: any(),
  credentialName: any(),
  subjectAltNames: any(),
  sni: any(),
  insecureSkipVerify: any(),
  caCrl: any(),
});

const portTrafficPolicy = obj({
  port: portSelector,
  loadBalancer,
  connectionPool: any(),
  outlierDetection: any(),
  tls: clientTls,
});

const trafficPolicy: Schema = obj({
  loadBalancer,
  connectionPool: any(),
  outlierDetection: any(),
  tls: clientTls,
  portLevelSettings: arr(portTrafficPolicy),
  tunnel: any(),
  proxyProtocol: any(),
  retryBudget: any(),
});

const subset = obj({
  name: required(str()),
  labels: stringMap(),
  trafficPolicy,
});

/** Subset names are what routes refer to, so two subsets of one rule may not share a name. */
const uniqueSubsetNames: ObjectCheck = (spec, path) => {
  const subsets = (spec['subsets'] as Array<{ name: string }> | undefined) ?? [];
  const firstAt = new Map<string, number>();
  for (const [i, s] of subsets.entries()) {
    const seen = firstAt.get(s.name);
    if (seen !== undefined) {
      return new FieldProblem(`${path}.subsets[${i}].name`, `duplicate subset name "${s.name}" (also at ${path}.subsets[${seen}].name)`);
    }
    firstAt.set(s.name, i);
  }
  return undefined;
};

const destinationRuleSpec = obj(
  {
    host: required(str()),
    trafficPolicy,
    subsets: arr(subset),
    exportTo: strings(),
    workloadSelector,
  },
  uniqueSubsetNames,
);

export const NETWORKING_SCHEMAS: Readonly<Record<string, KindSchema>> = {
  WorkloadEntry: { spec: workloadEntrySpec },
  ServiceEntry: { spec: serviceEntrySpec },
  VirtualService: { spec: VIRTUAL_SERVICE_SCHEMA },
  DestinationRule: { spec: destinationRuleSpec },
};

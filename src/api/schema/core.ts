// Schemas of the Kubernetes core/v1 kinds l4mesh reads: Service, ServiceAccount, Namespace, Pod,
// and the PodSpec that Deployments embed. Fields l4mesh does not interpret are accepted as `any`.
import {
  any,
  arr,
  bool,
  dropped,
  enumOf,
  int,
  intOrString,
  obj,
  port,
  required,
  str,
  stringMap,
  strings,
  type KindSchema,
  type Schema,
} from './engine.js';
import { containerSecurityContext, podSecurityContext } from './security-context.js';

const protocol = (): Schema => enumOf('TCP', 'UDP', 'SCTP');

const containerPort = obj({
  name: str(),
  containerPort: required(port()),
  protocol: protocol(),
  hostPort: port(),
  hostIP: str(),
});

const envVar = obj({
  name: required(str()),
  value: str(),
  valueFrom: any(),
});

// What local mode runs is `command` + `args` with `env` and `workingDir`; the rest is accepted so
// that manifests written for Kubernetes apply unchanged.
const container = obj({
  name: required(str()),
  image: str(),
  imagePullPolicy: enumOf('Always', 'Never', 'IfNotPresent'),
  command: strings(),
  args: strings(),
  workingDir: str(),
  ports: arr(containerPort),
  env: arr(envVar),
  envFrom: any(),
  resources: any(),
  securityContext: containerSecurityContext,
  volumeMounts: any(),
  volumeDevices: any(),
  readinessProbe: any(),
  livenessProbe: any(),
  startupProbe: any(),
  lifecycle: any(),
  restartPolicy: str(),
  resizePolicy: any(),
  stdin: bool(),
  stdinOnce: bool(),
  tty: bool(),
  terminationMessagePath: str(),
  terminationMessagePolicy: str(),
});

export const podSpec = obj({
  containers: required(arr(container)),
  initContainers: arr(container),
  serviceAccountName: str(),
  // Deprecated alias of serviceAccountName that Kubernetes still accepts.
  serviceAccount: str(),
  automountServiceAccountToken: bool(),
  volumes: any(),
  nodeName: str(),
  nodeSelector: stringMap(),
  restartPolicy: enumOf('Always', 'OnFailure', 'Never'),
  terminationGracePeriodSeconds: int(0),
  activeDeadlineSeconds: int(1),
  securityContext: podSecurityContext,
  imagePullSecrets: any(),
  hostname: str(),
  subdomain: str(),
  hostNetwork: bool(),
  dnsPolicy: str(),
  dnsConfig: any(),
  affinity: any(),
  tolerations: any(),
  topologySpreadConstraints: any(),
  priorityClassName: str(),
  priority: int(),
  schedulerName: str(),
  enableServiceLinks: bool(),
  shareProcessNamespace: bool(),
  hostAliases: any(),
  runtimeClassName: str(),
});

/** metadata of a pod template: only labels and annotations matter. */
export const templateMetadata = obj({
  name: str(),
  namespace: str(),
  labels: stringMap(),
  annotations: stringMap(),
  creationTimestamp: dropped(),
});

const servicePort = obj({
  name: str(),
  protocol: protocol(),
  appProtocol: str(),
  port: required(port()),
  targetPort: intOrString(),
  nodePort: port(),
});

const serviceSpec = obj({
  selector: stringMap(),
  ports: arr(servicePort),
  type: enumOf('ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'),
  clusterIP: str(),
  clusterIPs: strings(),
  externalName: str(),
  externalIPs: strings(),
  sessionAffinity: enumOf('None', 'ClientIP'),
  sessionAffinityConfig: any(),
  ipFamilies: arr(enumOf('IPv4', 'IPv6')),
  ipFamilyPolicy: enumOf('SingleStack', 'PreferDualStack', 'RequireDualStack'),
  publishNotReadyAddresses: bool(),
  externalTrafficPolicy: str(),
  internalTrafficPolicy: str(),
  loadBalancerIP: str(),
  loadBalancerSourceRanges: strings(),
  loadBalancerClass: str(),
  allocateLoadBalancerNodePorts: bool(),
  healthCheckNodePort: port(),
  trafficDistribution: str(),
});

// The local runtime writes Pod status; it is kept because the registry reads podIP and phase.
const podStatus = obj({
  phase: enumOf('Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'),
  podIP: str(),
  podIPs: arr(obj({ ip: required(str()) })),
  hostIP: str(),
  hostIPs: any(),
  conditions: any(),
  containerStatuses: any(),
  initContainerStatuses: any(),
  startTime: str(),
  message: str(),
  reason: str(),
  qosClass: str(),
});

export const CORE_SCHEMAS: Readonly<Record<string, KindSchema>> = {
  Service: { spec: serviceSpec },
  ServiceAccount: {
    topLevel: {
      secrets: any(),
      imagePullSecrets: any(),
      automountServiceAccountToken: bool(),
    },
  },
  Namespace: { spec: any() },
  Pod: { spec: podSpec, status: podStatus },
};

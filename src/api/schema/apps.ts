// Schema of apps/v1 Deployment: local mode runs one process per replica from the pod template.
import { arr, bool, enumOf, int, intOrString, obj, required, str, stringMap, strings, type KindSchema } from './engine.js';
import { podSpec, templateMetadata } from './core.js';

const labelSelectorRequirement = obj({
  key: required(str()),
  operator: required(enumOf('In', 'NotIn', 'Exists', 'DoesNotExist')),
  values: strings(),
});

/** Kubernetes metav1.LabelSelector. */
export const labelSelector = obj({
  matchLabels: stringMap(),
  matchExpressions: arr(labelSelectorRequirement),
});

const deploymentStrategy = obj({
  type: enumOf('RollingUpdate', 'Recreate'),
  rollingUpdate: obj({ maxUnavailable: intOrString(), maxSurge: intOrString() }),
});

const deploymentSpec = obj({
  replicas: int(0),
  selector: required(labelSelector),
  template: required(obj({ metadata: templateMetadata, spec: required(podSpec) })),
  strategy: deploymentStrategy,
  revisionHistoryLimit: int(0),
  progressDeadlineSeconds: int(1),
  minReadySeconds: int(0),
  paused: bool(),
});

export const APPS_SCHEMAS: Readonly<Record<string, KindSchema>> = {
  Deployment: { spec: deploymentSpec },
};

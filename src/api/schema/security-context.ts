// Schemas of Kubernetes' PodSecurityContext and (container) SecurityContext: the local runtime honours
// runAsUser, runAsGroup and runAsNonRoot; the other upstream fields are accepted so manifests apply unchanged.
import { any, arr, bool, enumOf, int, obj, str, type Schema } from './engine.js';

/** Linux uids and gids are 32-bit; Kubernetes validates them as non-negative int64 up to 2^31-1. */
const MAX_ID = 2_147_483_647;
const id = (): Schema => int(0, MAX_ID);

/** core/v1 PodSecurityContext (spec.template.spec.securityContext). */
export const podSecurityContext = obj({
  runAsUser: id(),
  runAsGroup: id(),
  runAsNonRoot: bool(),
  supplementalGroups: arr(id()),
  supplementalGroupsPolicy: enumOf('Merge', 'Strict'),
  fsGroup: id(),
  fsGroupChangePolicy: enumOf('OnRootMismatch', 'Always'),
  seLinuxChangePolicy: str(),
  seLinuxOptions: any(),
  seccompProfile: any(),
  appArmorProfile: any(),
  sysctls: any(),
  windowsOptions: any(),
});

/** core/v1 SecurityContext (containers[].securityContext); its runAs* fields override the pod's. */
export const containerSecurityContext = obj({
  runAsUser: id(),
  runAsGroup: id(),
  runAsNonRoot: bool(),
  allowPrivilegeEscalation: bool(),
  privileged: bool(),
  readOnlyRootFilesystem: bool(),
  procMount: enumOf('Default', 'Unmasked'),
  capabilities: any(),
  seLinuxOptions: any(),
  seccompProfile: any(),
  appArmorProfile: any(),
  windowsOptions: any(),
});

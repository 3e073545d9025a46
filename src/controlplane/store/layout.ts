// Where each resource lives on disk: <stateDir>/resources/<plural>/<namespace or _cluster>/<name>.json.
import { join } from 'node:path';
import { kindByName, type KindInfo } from '../../api/kinds.js';
import type { ResourceKey } from '../../api/types.js';
import { L4meshError } from '../../errors/index.js';
import { resourcesDir } from '../../config/state-layout.js';

/** Directory of cluster-scoped kinds; a Kubernetes namespace name can never start with '_', so it cannot collide. */
export const CLUSTER_SCOPE_DIR = '_cluster';
export const RESOURCE_FILE_SUFFIX = '.json';

/**
 * Names become file names, so anything that could escape the directory or hide as a dot file is
 * refused here even though validation already enforces DNS names.
 */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function kindInfoOrThrow(kind: string): KindInfo {
  const info = kindByName(kind);
  if (!info) {
    throw new L4meshError('L4MESH_ERR_UNKNOWN_KIND', `the store does not know kind "${kind}"; check the resource's kind`);
  }
  return info;
}

/** Checks that a key names one file under the kind's directory and returns the kind's table entry. */
export function checkKey(key: ResourceKey): KindInfo {
  const info = kindInfoOrThrow(key.kind);
  const what = `${key.kind} "${key.namespace ? key.namespace + '/' : ''}${key.name}"`;
  if (!SAFE_NAME.test(key.name) || key.name.length > 253) {
    throw new L4meshError('L4MESH_ERR_INVALID_RESOURCE', `${what}: metadata.name must be a DNS name (letters, digits, '-', '.')`);
  }
  if (info.namespaced) {
    if (!SAFE_NAME.test(key.namespace) || key.namespace.length > 63) {
      throw new L4meshError('L4MESH_ERR_INVALID_RESOURCE', `${what}: metadata.namespace must be a DNS label; ${key.kind} is namespaced`);
    }
  } else if (key.namespace !== '') {
    throw new L4meshError('L4MESH_ERR_INVALID_RESOURCE', `${what}: ${key.kind} is cluster-scoped and takes no metadata.namespace`);
  }
  return info;
}

export function resourcesRoot(stateDir: string): string {
  return resourcesDir(stateDir);
}

export function resourceFile(stateDir: string, key: ResourceKey): string {
  const info = checkKey(key);
  const scope = info.namespaced ? key.namespace : CLUSTER_SCOPE_DIR;
  return join(resourcesRoot(stateDir), info.plural, scope, key.name + RESOURCE_FILE_SUFFIX);
}

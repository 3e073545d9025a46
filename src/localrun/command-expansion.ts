// Kubernetes' $(VAR) expansion of a container's command and args, and the variable that makes sample
// manifests independent of where they are applied from: $(L4MESH_PACKAGE_ROOT), the l4mesh package directory.
import { packageRoot } from '../config/paths.js';

/** Set in every pod: where l4mesh is installed (dist/ is under it), so a manifest can name its programs. */
export const ENV_PACKAGE_ROOT = 'L4MESH_PACKAGE_ROOT';

export function packageRootEnv(): Record<string, string> {
  return { [ENV_PACKAGE_ROOT]: packageRoot() };
}

/**
 * As the kubelet does: `$(NAME)` becomes the value of the container's variable NAME (its env, the pod's
 * variables), `$$` becomes `$`, and a reference to an undefined variable stays as written.
 */
export function expandVars(arg: string, vars: Readonly<Record<string, string | undefined>>): string {
  return arg.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match: string, name: string | undefined) => {
    if (match === '$$') return '$';
    const value = vars[name!];
    return value === undefined ? match : value;
  });
}

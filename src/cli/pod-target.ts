// Resolves what `exec` and `logs` are pointed at: a pod name, `deploy/NAME`, `pod/NAME` or a Deployment name.
import { kindByName } from '../api/kinds.js';
import type { Resource } from '../api/types.js';
import { L4meshError } from '../errors/index.js';
import { ANNOTATION_WORKLOAD_NAME } from '../localrun/pod-naming.js';
import type { CliContext } from './cli-context.js';
import { podReady } from './get-columns.js';

const POD = kindByName('Pod')!;
const DEPLOYMENT = kindByName('Deployment')!;

async function podsOfDeployment(ctx: CliContext, namespace: string, name: string): Promise<Resource[]> {
  const pods = await ctx.client.list(POD, namespace);
  return pods
    .filter((p) => p.metadata.annotations?.[ANNOTATION_WORKLOAD_NAME] === name)
    .sort((a, b) => Number(podReady(b)) - Number(podReady(a)) || a.metadata.name.localeCompare(b.metadata.name));
}

/** Every pod the target names (a Deployment: all of its pods, ready ones first). */
export async function resolvePods(ctx: CliContext, target: string, namespace: string): Promise<Resource[]> {
  const slash = target.indexOf('/');
  const kind = slash > 0 ? target.slice(0, slash).toLowerCase() : '';
  const name = slash > 0 ? target.slice(slash + 1) : target;
  if (['deploy', 'deployment', 'deployments', 'deployment.apps'].includes(kind)) {
    if (!(await ctx.client.get(DEPLOYMENT, namespace, name))) {
      throw new L4meshError('L4MESH_ERR_NOT_FOUND', `deployments.apps "${name}" not found in namespace "${namespace}"; see "l4mesh get deploy -n ${namespace}"`);
    }
    const pods = await podsOfDeployment(ctx, namespace, name);
    if (pods.length === 0) throw new L4meshError('L4MESH_ERR_NOT_FOUND', `deployment "${name}" has no pods yet; is the runtime running? ("l4mesh status")`);
    return pods;
  }
  if (kind && !['po', 'pod', 'pods'].includes(kind)) throw new L4meshError('L4MESH_ERR_CONFIG', `"${target}": give a pod name, pod/NAME or deploy/NAME`);
  const pod = await ctx.client.get(POD, namespace, name);
  if (pod) return [pod];
  if (!kind && (await ctx.client.get(DEPLOYMENT, namespace, name))) {
    const pods = await podsOfDeployment(ctx, namespace, name);
    if (pods.length > 0) return pods;
  }
  throw new L4meshError('L4MESH_ERR_NOT_FOUND', `pods "${name}" not found in namespace "${namespace}"; see "l4mesh get pods -n ${namespace}"`);
}

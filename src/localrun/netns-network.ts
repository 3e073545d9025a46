// netns mode's network as `up`, the runtime and `down` handle it: checking the host can do it (Linux,
// root, the addon, iproute2 and iptables, installed with apt-get when missing), building the fabric and
// node namespaces, a namespace per pod with its in-pod rules, and removing everything the mesh made.
import { spawnSync } from 'node:child_process';
import type { Resource } from '../api/types.js';
import { ANNOTATION_NETNS } from '../api/labels.js';
import { L4meshError } from '../errors/index.js';
import { listNetns } from '../dataplane/capture/netns/commands.js';
import { applyInpodRules, removeInpodRules } from '../dataplane/capture/netns/inpod-rules.js';
import { netnsAddon } from '../dataplane/capture/netns/native.js';
import { NETNS_PREFIX } from '../dataplane/capture/netns/plan.js';
import { NetnsTopology, type NodeNetns } from '../dataplane/capture/netns/topology.js';
import { nodeName, type Layout } from './layout.js';

/** The Debian packages netns mode runs: `ip` and `iptables-restore`. */
const REQUIRED_TOOLS: ReadonlyArray<{ command: string; pkg: string }> = [
  { command: 'ip', pkg: 'iproute2' },
  { command: 'iptables-restore', pkg: 'iptables' },
];
/** apt-get on a cold cache downloads package lists first; minutes, not hours. */
const APT_TIMEOUT_MS = 600_000;

function has(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Checks the host can run netns mode and installs iproute2/iptables with apt-get when missing. Throws
 * L4MESH_ERR_NETNS_UNAVAILABLE saying what is missing (not Linux, not root, no addon, no apt-get).
 */
export function prepareNetnsHost(say: (line: string) => void): void {
  netnsAddon();
  const missing = REQUIRED_TOOLS.filter((t) => !has(t.command));
  if (missing.length === 0) return;
  const pkgs = missing.map((t) => t.pkg);
  if (!has('apt-get')) {
    throw new L4meshError('L4MESH_ERR_NETNS_UNAVAILABLE', `netns mode needs ${missing.map((t) => t.command).join(' and ')}; install ${pkgs.join(' ')} with your package manager`);
  }
  say(`Installing ${pkgs.join(' ')} (apt-get) ...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...pkgs], { stdio: 'ignore', env, timeout: APT_TIMEOUT_MS });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'ignore', env, timeout: APT_TIMEOUT_MS });
    r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...pkgs], { stdio: 'ignore', env, timeout: APT_TIMEOUT_MS });
  }
  const still = REQUIRED_TOOLS.filter((t) => !has(t.command));
  if (still.length > 0) {
    throw new L4meshError('L4MESH_ERR_NETNS_UNAVAILABLE', `apt-get install ${pkgs.join(' ')} failed (exit ${r.status ?? r.error?.message}); install them by hand and run "l4mesh up --mode netns" again`);
  }
}

export function meshTopology(layout: Pick<Layout, 'netnsPrefix'>): NetnsTopology {
  return new NetnsTopology(layout.netnsPrefix ?? NETNS_PREFIX);
}

/** Removes whatever an earlier run left (a crash), then makes the fabric and one namespace per node, routed to each other. */
export async function buildNetnsNetwork(layout: Layout): Promise<void> {
  const topology = meshTopology(layout);
  await topology.createFabric();
  const nodes: NodeNetns[] = [];
  for (let k = 1; k <= layout.nodes; k++) nodes.push(await topology.addNode(nodeName(k), k, nodes));
}

/** Removes every namespace, link, rule and file this mesh made. Safe to repeat. */
export async function removeNetnsNetwork(layout: Layout): Promise<void> {
  await meshTopology(layout).destroy();
}

/** Whether the fabric namespace of this mesh exists (a running mesh keeps its network across `up` reruns). */
export async function netnsNetworkExists(layout: Layout): Promise<boolean> {
  return (await listNetns()).includes(meshTopology(layout).fabricName());
}

/** The namespace a netns-mode pod runs in, from its annotation; undefined for a local-mode pod. */
export function podNetns(pod: Resource): string | undefined {
  return pod.metadata.annotations?.[ANNOTATION_NETNS];
}

/**
 * Makes a pod's namespace on its node, with in-pod rules when the pod is enrolled. One an earlier runtime
 * made is kept (its node proxy may hold listeners in it); only its rules are set again.
 */
export async function preparePodNetwork(layout: Layout, pod: Resource, enrolled: boolean): Promise<void> {
  const topology = meshTopology(layout);
  const node = String((pod.spec as Record<string, unknown>)['nodeName']);
  const ip = String(pod.status?.['podIP'] ?? '');
  const k = Number(/^node-(\d+)$/.exec(node)?.[1] ?? NaN);
  const host = Number(ip.split('.')[3]);
  const namespace = pod.metadata.namespace ?? 'default';
  let netns = topology.podName(node, namespace, pod.metadata.name);
  if (!(await listNetns()).includes(netns)) netns = (await topology.addPod({ node, nodeIndex: k, namespace, pod: pod.metadata.name, host })).netns;
  if (enrolled) await applyInpodRules(netns);
  else await removeInpodRules(netns);
}

export async function releasePodNetwork(layout: Layout, pod: Resource): Promise<void> {
  const node = String((pod.spec as Record<string, unknown>)['nodeName']);
  await meshTopology(layout).removePod(node, pod.metadata.namespace ?? 'default', pod.metadata.name);
}

/**
 * The argv that runs `argv` inside a pod's namespace: `ip netns exec` (which also puts the pod's
 * /etc/netns/<name>/resolv.conf in place) as root, then setpriv down to the pod's user when it has one.
 */
export function inPodArgv(netns: string, argv: readonly string[], user?: { uid: number; gid: number }): string[] {
  const drop = user ? ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--'] : [];
  return ['ip', 'netns', 'exec', netns, ...drop, ...argv];
}

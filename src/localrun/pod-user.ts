// Who a local-mode pod runs as and what it inherits: when l4mesh runs as root, containers run as an
// unprivileged user (nobody, unless the Deployment's securityContext.runAsUser/runAsGroup says otherwise,
// like Kubernetes' runAsNonRoot), with a clean environment and no way into the state dir's secrets.
import { chmodSync, readFileSync, statSync } from 'node:fs';
import type { Resource } from '../api/types.js';
import { LABEL_GATEWAY_MANAGED } from '../api/labels.js';

/** `nobody`: present on every Linux, owns no files, so a pod can read only what is world-readable. */
export const DEFAULT_POD_UID = 65534;
/** `nogroup`/`nobody` group, for the same reason. */
export const DEFAULT_POD_GID = 65534;
/** What Kubernetes' container runtimes give a container without an image PATH. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** The state dir holds admin.token, node tokens, the CA key and every pod's logs: owner only. */
export const STATE_DIR_MODE = 0o700;

interface SecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
}

export interface PodUser {
  uid: number;
  gid: number;
}

export type PodUserDecision =
  /** `user` undefined: run as the mesh's own user (l4mesh is not root, so it cannot switch). */
  | { user?: PodUser; ignored?: string }
  | { problem: string };

function contextOf(spec: unknown): SecurityContext {
  const sc = (spec as { securityContext?: unknown } | undefined)?.securityContext;
  return sc && typeof sc === 'object' ? (sc as SecurityContext) : {};
}

/**
 * The user a container runs as: the container's securityContext over the pod's (as in Kubernetes), else
 * DEFAULT_POD_UID/GID when the mesh is root. A mesh that is not root runs pods as itself and says so
 * when a runAsUser asked for someone else. `needs`: directories the container must enter (its working
 * directory, the package root its command runs from).
 */
export function podUser(podSpec: unknown, containerSpec: unknown, meshUid: number = process.getuid?.() ?? -1, needs: string[] = []): PodUserDecision {
  const pod = contextOf(podSpec);
  const container = contextOf(containerSpec);
  const runAsUser = container.runAsUser ?? pod.runAsUser;
  const runAsGroup = container.runAsGroup ?? pod.runAsGroup;
  const runAsNonRoot = container.runAsNonRoot ?? pod.runAsNonRoot;
  if (meshUid !== 0) {
    const ignored = runAsUser !== undefined && runAsUser !== meshUid
      ? `securityContext.runAsUser ${runAsUser} is ignored: l4mesh runs as uid ${meshUid}, not root, so pods run as uid ${meshUid}`
      : undefined;
    return ignored ? { ignored } : {};
  }
  const uid = runAsUser ?? DEFAULT_POD_UID;
  if (uid === 0 && runAsNonRoot) return { problem: 'securityContext.runAsNonRoot is true but runAsUser is 0 (root); remove one of them' };
  // A checkout under /root (mode 0700) is the common case where nobody cannot even start the pod: without
  // an explicit runAsUser the pod runs as the mesh's user then, and says why, rather than crash-looping.
  const closed = runAsUser === undefined ? needs.map(firstClosedDir).find((d) => d !== undefined) : undefined;
  if (closed) {
    return { ignored: `running as the mesh's user (uid ${meshUid}), not nobody (${DEFAULT_POD_UID}): ${closed} cannot be entered by other users; move the files to a directory others may enter, or set securityContext.runAsUser` };
  }
  return { user: { uid, gid: runAsGroup ?? (uid === 0 ? 0 : DEFAULT_POD_GID) } };
}

/** The first directory on the way to `dir` that users other than its owner may not enter, if any. */
export function firstClosedDir(dir: string): string | undefined {
  const parts = dir.split('/').filter(Boolean);
  for (let i = 0; i <= parts.length; i++) {
    const path = `/${parts.slice(0, i).join('/')}`;
    try {
      if ((statSync(path).mode & 0o001) === 0) return path;
    } catch {
      return undefined; // a missing directory fails at spawn with its own error
    }
  }
  return undefined;
}

/**
 * Pods of mesh components (a waypoint from `l4mesh waypoint apply`, labelled gateway.istio.io/managed as
 * Istio labels the gateways it deploys) are proxies, like the sidecar: they run as the mesh's user with
 * its environment, since they need its node token. No escalation: applying a manifest at all takes the
 * admin token.
 */
export function isMeshComponent(pod: Resource): boolean {
  const labels = (pod.metadata.labels ?? {}) as Record<string, unknown>;
  return typeof labels[LABEL_GATEWAY_MANAGED] === 'string';
}

/** The user's home from /etc/passwd, else "/" (what Kubernetes sets when the image has no entry). */
function homeOf(uid: number): string {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length >= 7 && Number(f[2]) === uid && f[5]) return f[5];
    }
  } catch {
    // No /etc/passwd: fall through to "/".
  }
  return '/';
}

/**
 * The environment a container starts from, before its own env and the service variables: PATH, HOME and
 * LANG only — never the mesh's (L4MESH_STATE_DIR, tokens in the operator's shell, ...).
 */
export function baseEnv(user: PodUser | undefined, meshEnv: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const path = meshEnv['PATH'] || DEFAULT_PATH;
  const env: Record<string, string> = {
    // A PATH entry the pod's user may not enter (e.g. /root/.pyenv/shims) turns every failed lookup into
    // EACCES instead of ENOENT, so another user's PATH keeps only the directories it can use.
    PATH: user ? path.split(':').filter((d) => d !== '' && firstClosedDir(d) === undefined).join(':') || DEFAULT_PATH : path,
    HOME: user ? homeOf(user.uid) : meshEnv['HOME'] || '/',
  };
  if (meshEnv['LANG']) env['LANG'] = meshEnv['LANG'];
  return env;
}

/**
 * Before a pod runs as another user: the state dir becomes owner-only, so nothing in it (tokens, CA key,
 * other pods' logs, the process table) is reachable whatever the files' own modes are. The pods' logs are
 * written through descriptors the runtime opens, so they keep working.
 */
export function protectStateDir(stateDir: string): void {
  if ((statSync(stateDir).mode & 0o777) !== STATE_DIR_MODE) chmodSync(stateDir, STATE_DIR_MODE);
}

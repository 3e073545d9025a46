// Maps Kubernetes-shaped URL paths (/api/v1/..., /apis/<group>/<version>/...) to kinds, namespaces and names.
import { ACCEPTED_VERSIONS, KINDS, apiVersionOf, kindByPlural, type KindInfo } from '../../api/kinds.js';
import { ResourceApiError } from './http-errors.js';

export type Route =
  /** A list; `namespace` undefined means every namespace ('' for cluster-scoped kinds). */
  | { type: 'list'; info: KindInfo; namespace: string | undefined }
  | { type: 'object'; info: KindInfo; namespace: string; name: string }
  | { type: 'apply' }
  | { type: 'delete' };

export const APPLY_PATH = '/apply';
export const DELETE_PATH = '/delete';

/** Where a kind's objects live, for messages: `/apis/apps/v1/namespaces/<ns>/deployments`. */
export function collectionPath(info: KindInfo): string {
  const prefix = info.group ? `/apis/${apiVersionOf(info)}` : `/api/${info.version}`;
  return info.namespaced ? `${prefix}/namespaces/<namespace>/${info.plural}` : `${prefix}/${info.plural}`;
}

function unknownPath(pathname: string, why: string): ResourceApiError {
  const known = KINDS.map((k) => `${k.plural} (${collectionPath(k)})`).join(', ');
  return new ResourceApiError(404, 'L4MESH_ERR_UNKNOWN_KIND', `${pathname}: ${why}; known resource types: ${known}`);
}

function decodeSegments(pathname: string, rest: string): string[] {
  try {
    return rest.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
  } catch {
    throw unknownPath(pathname, 'the path is not valid percent-encoding');
  }
}

/**
 * Returns the route for `pathname`, undefined when the path belongs to someone else on the same
 * server (/ready, /metrics, /debug/...), or throws a 404 ResourceApiError for a path under /api or
 * /apis that names no known kind.
 */
export function parseRoute(pathname: string): Route | undefined {
  if (pathname === APPLY_PATH) return { type: 'apply' };
  if (pathname === DELETE_PATH) return { type: 'delete' };
  let group: string;
  let version: string | undefined;
  let segments: string[];
  if (pathname === '/api' || pathname.startsWith('/api/')) {
    const s = decodeSegments(pathname, pathname.slice('/api'.length));
    group = '';
    version = s[0];
    segments = s.slice(1);
  } else if (pathname === '/apis' || pathname.startsWith('/apis/')) {
    const s = decodeSegments(pathname, pathname.slice('/apis'.length));
    group = s[0] ?? '';
    version = s[1];
    segments = s.slice(2);
    if (group === '') throw unknownPath(pathname, 'no API group given');
  } else {
    return undefined;
  }
  const accepted = ACCEPTED_VERSIONS[group];
  if (!accepted) throw unknownPath(pathname, `API group "${group}" is not served`);
  if (version === undefined || !accepted.includes(version)) {
    throw unknownPath(pathname, `version "${version ?? ''}" of API group "${group || 'core'}" is not served (accepted: ${accepted.join(', ')})`);
  }
  return routeInGroup(pathname, group, segments);
}

function routeInGroup(pathname: string, group: string, segments: string[]): Route {
  const lookup = (plural: string): KindInfo => {
    const info = kindByPlural(group, plural);
    if (!info) throw unknownPath(pathname, `no resource type "${plural}" in API group "${group || 'core'}"`);
    return info;
  };
  const [first, second, third, fourth, ...extra] = segments;
  if (first === undefined) throw unknownPath(pathname, 'no resource type given');
  if (extra.length > 0) throw unknownPath(pathname, 'too many path segments');
  // /namespaces/<ns>/<plural>[/<name>] addresses namespaced objects; /namespaces[/<name>] the Namespace kind.
  if (first === 'namespaces' && third !== undefined) {
    const info = lookup(third);
    if (!info.namespaced) throw unknownPath(pathname, `${info.plural} are cluster-scoped: use ${collectionPath(info)}`);
    return fourth === undefined
      ? { type: 'list', info, namespace: second! }
      : { type: 'object', info, namespace: second!, name: fourth };
  }
  const info = lookup(first);
  if (third !== undefined) throw unknownPath(pathname, 'too many path segments');
  if (second === undefined) return { type: 'list', info, namespace: info.namespaced ? undefined : '' };
  if (info.namespaced) throw unknownPath(pathname, `${info.plural} are namespaced: use ${collectionPath(info)}/${second}`);
  return { type: 'object', info, namespace: '', name: second };
}

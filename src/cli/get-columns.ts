// kubectl's table columns per kind, for `l4mesh get`.
import type { Resource } from '../api/types.js';
import { LABEL_TEMPLATE_HASH, ANNOTATION_WORKLOAD_NAME, templateHash, ANNOTATION_WORKING_DIR } from '../localrun/pod-naming.js';
import { formatAge } from './cli-context.js';

export interface TableContext {
  now: number;
  /** `namespace/name` of a Service → its VIP, from the registry. */
  vips: Map<string, string>;
  /** Pods, for Deployment readiness. */
  pods: Resource[];
  /** Where pods run when the Deployment names no directory (part of the template hash). */
  defaultWorkDir: string;
  /** `namespace/name` of a node proxy pod → whether its readiness endpoint answers 200 now. */
  proxyReady?: Map<string, boolean>;
}

export interface Columns {
  header: string[];
  row(r: Resource, ctx: TableContext): string[];
  wideHeader?: string[];
  wideRow?(r: Resource, ctx: TableContext): string[];
}

type Obj = Record<string, unknown>;
const spec = (r: Resource): Obj => (r.spec ?? {}) as Obj;
const age = (r: Resource, ctx: TableContext) => formatAge(r.metadata.creationTimestamp, ctx.now);
/** kubectl prints string-array printer columns as JSON: ["reviews"]. */
const jsonList = (v: unknown) => (Array.isArray(v) && v.length > 0 ? JSON.stringify(v) : '');
const str = (v: unknown) => (v === undefined || v === null ? '' : String(v));

interface ContainerStatus {
  name: string;
  ready?: boolean;
  restartCount?: number;
  state?: { waiting?: { reason?: string }; running?: unknown; terminated?: { reason?: string } };
  lastState?: { terminated?: { finishedAt?: string } };
}

export function podReady(pod: Resource): boolean {
  const conds = (pod.status?.['conditions'] as Obj[] | undefined) ?? [];
  return conds.some((c) => c['type'] === 'Ready' && c['status'] === 'True');
}

/** Node proxy pods (istio-system, app=ztunnel) are recorded by the control plane; their readiness is their readiness endpoint's. */
export function isNodeProxyPod(r: Resource): boolean {
  return r.metadata.namespace === 'istio-system' && r.metadata.labels?.['app'] === 'ztunnel';
}

function podRow(r: Resource, ctx: TableContext): string[] {
  const containers = ((spec(r)['containers'] as Obj[] | undefined) ?? []).length;
  const statuses = (r.status?.['containerStatuses'] as ContainerStatus[] | undefined) ?? [];
  // Pods the runtime did not write have no container statuses: their Ready condition, or a live probe, says it.
  const probed = ctx.proxyReady?.get(`${r.metadata.namespace ?? 'default'}/${r.metadata.name}`);
  const ready = probed !== undefined ? (probed ? containers : 0) : statuses.length > 0 ? statuses.filter((s) => s.ready).length : podReady(r) ? containers : 0;
  const waiting = statuses.find((s) => s.state?.waiting?.reason && s.state.waiting.reason !== 'ContainerCreating')?.state?.waiting?.reason;
  const phase = str(r.status?.['phase'] ?? 'Pending');
  const creating = phase === 'Pending' && statuses.some((s) => s.state?.waiting?.reason === 'ContainerCreating');
  const status = waiting ?? (creating ? 'ContainerCreating' : phase);
  const restarts = statuses.reduce((n, s) => n + (s.restartCount ?? 0), 0);
  const last = statuses
    .map((s) => s.lastState?.terminated?.finishedAt)
    .filter((t): t is string => Boolean(t))
    .sort()
    .pop();
  const restartText = restarts > 0 && last ? `${restarts} (${formatAge(last, ctx.now)} ago)` : String(restarts);
  return [r.metadata.name, `${ready}/${containers}`, status, restartText, age(r, ctx)];
}

function servicePorts(r: Resource): string {
  const ports = (spec(r)['ports'] as Obj[] | undefined) ?? [];
  if (ports.length === 0) return '<none>';
  return ports.map((p) => `${p['port']}${p['nodePort'] ? `:${p['nodePort']}` : ''}/${p['protocol'] ?? 'TCP'}`).join(',');
}

function selectorText(sel: unknown): string {
  const entries = Object.entries((sel ?? {}) as Record<string, string>);
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(',') : '<none>';
}

function deploymentRow(r: Resource, ctx: TableContext): string[] {
  const s = spec(r);
  const replicas = typeof s['replicas'] === 'number' ? s['replicas'] : 1;
  const ns = r.metadata.namespace ?? 'default';
  const pods = ctx.pods.filter((p) => (p.metadata.namespace ?? 'default') === ns && p.metadata.annotations?.[ANNOTATION_WORKLOAD_NAME] === r.metadata.name);
  const hash = templateHash(s['template'], r.metadata.annotations?.[ANNOTATION_WORKING_DIR] ?? ctx.defaultWorkDir);
  const current = pods.filter((p) => p.metadata.labels?.[LABEL_TEMPLATE_HASH] === hash);
  const ready = pods.filter(podReady).length;
  return [r.metadata.name, `${ready}/${replicas}`, String(current.length), String(ready), age(r, ctx)];
}

function templateContainers(r: Resource): Obj[] {
  const t = spec(r)['template'] as { spec?: { containers?: Obj[] } } | undefined;
  return t?.spec?.containers ?? [];
}

export const COLUMNS: Record<string, Columns> = {
  Pod: {
    header: ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'],
    row: podRow,
    wideHeader: ['IP', 'NODE'],
    wideRow: (r) => [str(r.status?.['podIP']) || '<none>', str(spec(r)['nodeName']) || '<none>'],
  },
  Service: {
    header: ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE'],
    row: (r, ctx) => [
      r.metadata.name,
      str(spec(r)['type']) || 'ClusterIP',
      ctx.vips.get(`${r.metadata.namespace ?? 'default'}/${r.metadata.name}`) ?? '<none>',
      '<none>',
      servicePorts(r),
      age(r, ctx),
    ],
    wideHeader: ['SELECTOR'],
    wideRow: (r) => [selectorText(spec(r)['selector'])],
  },
  Deployment: {
    header: ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE'],
    row: deploymentRow,
    wideHeader: ['CONTAINERS', 'IMAGES', 'SELECTOR'],
    wideRow: (r) => [
      templateContainers(r).map((c) => str(c['name'])).join(','),
      templateContainers(r).map((c) => str(c['image'])).join(','),
      selectorText((spec(r)['selector'] as Obj | undefined)?.['matchLabels']),
    ],
  },
  ServiceAccount: { header: ['NAME', 'SECRETS', 'AGE'], row: (r, ctx) => [r.metadata.name, '0', age(r, ctx)] },
  Namespace: { header: ['NAME', 'STATUS', 'AGE'], row: (r, ctx) => [r.metadata.name, 'Active', age(r, ctx)] },
  DestinationRule: { header: ['NAME', 'HOST', 'AGE'], row: (r, ctx) => [r.metadata.name, str(spec(r)['host']), age(r, ctx)] },
  VirtualService: {
    header: ['NAME', 'GATEWAYS', 'HOSTS', 'AGE'],
    row: (r, ctx) => [r.metadata.name, jsonList(spec(r)['gateways']), jsonList(spec(r)['hosts']), age(r, ctx)],
  },
  ServiceEntry: {
    header: ['NAME', 'HOSTS', 'LOCATION', 'RESOLUTION', 'AGE'],
    row: (r, ctx) => [r.metadata.name, jsonList(spec(r)['hosts']), str(spec(r)['location']), str(spec(r)['resolution']), age(r, ctx)],
  },
  WorkloadEntry: { header: ['NAME', 'AGE', 'ADDRESS'], row: (r, ctx) => [r.metadata.name, age(r, ctx), str(spec(r)['address'])] },
  PeerAuthentication: {
    header: ['NAME', 'MODE', 'AGE'],
    row: (r, ctx) => [r.metadata.name, str((spec(r)['mtls'] as Obj | undefined)?.['mode']), age(r, ctx)],
  },
  AuthorizationPolicy: { header: ['NAME', 'ACTION', 'AGE'], row: (r, ctx) => [r.metadata.name, str(spec(r)['action']) || 'ALLOW', age(r, ctx)] },
};

export const DEFAULT_COLUMNS: Columns = { header: ['NAME', 'AGE'], row: (r, ctx) => [r.metadata.name, age(r, ctx)] };

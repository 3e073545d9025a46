// The local runtime: watches Deployments through the control plane and keeps `replicas` pods of each
// running as local processes (rollouts on template change, scale up/down, cleanup on delete); its
// supervisor keeps the control plane and node proxies running, and pods behind a dead proxy unready.
import { kindByName } from '../api/kinds.js';
import type { Resource } from '../api/types.js';
import type { ControlPlaneClient } from '../controlplane/client/control-plane-client.js';
import { ResourceInformer } from '../controlplane/client/resource-informer.js';
import type { Logger } from '../logging/logger.js';
import { controlPlaneAddresses, nodeAddress, nodeName, nodePodRange, type Layout } from './layout.js';
import { AMBIENT_REDIRECTION_ENABLED, ANNOTATION_AMBIENT_REDIRECTION, ANNOTATION_NETNS } from '../api/labels.js';
import { enrollment } from '../dataplane/capture/netns/enrollment.js';
import { NETNS_PREFIX } from '../dataplane/capture/netns/plan.js';
import { podNetnsName } from '../dataplane/capture/netns/topology.js';
import { podNetns, preparePodNetwork, releasePodNetwork } from './netns-network.js';
import {
  ANNOTATION_MANAGED_BY,
  ANNOTATION_WORKING_DIR,
  ANNOTATION_WORKLOAD_KIND,
  ANNOTATION_WORKLOAD_NAME,
  LABEL_TEMPLATE_HASH,
  MANAGED_BY_RUNTIME,
  podName,
  templateHash,
} from './pod-naming.js';
import { PodIpAllocator } from './pod-ips.js';
import { readPodProcesses, writePodProcesses, type PodProcessTable } from './pod-processes.js';
import { deploymentEventsFile, recordEvent } from './pod-events.js';
import { PodRunner } from './pod-runner.js';
import { SidecarCaptureBlocks, wantsSidecar } from './sidecar-process.js';
import { stopProcess } from './processes.js';
import { MeshSupervisor } from './supervisor.js';
import { NodeProxyPods } from './node-proxy-pods.js';

/** A failed reconcile (the control plane restarting, say) is retried after this; 500 ms feels immediate at a terminal. */
export const RECONCILE_RETRY_MS = 500;

const DEPLOYMENT = kindByName('Deployment')!;
const POD = kindByName('Pod')!;
const NAMESPACE = kindByName('Namespace')!;

interface Desired {
  deployment: Resource;
  hash: string;
  replicas: number;
  workDir: string;
}

function podNode(pod: Resource): string {
  return String((pod.spec as Record<string, unknown> | undefined)?.['nodeName'] ?? '');
}

export class LocalRuntime {
  private readonly runners = new Map<string, PodRunner>();
  private readonly ips: PodIpAllocator;
  private readonly sidecarBlocks: SidecarCaptureBlocks;
  private readonly processes: PodProcessTable;
  private readonly supervisor: MeshSupervisor;
  private readonly nodeProxyPods: NodeProxyPods;
  /** Nodes whose proxy is down or not ready: their pods report not ready. */
  private readonly unreadyNodes = new Set<string>();
  private nextNode = 0;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private adopted = false;
  /** Deployments as the control plane's watch reports them (no polling). */
  private readonly deployments: ResourceInformer;
  private reconciling = false;
  private reconcileAgain = false;

  constructor(
    private readonly stateDir: string,
    private readonly layout: Layout,
    private readonly client: ControlPlaneClient,
    private readonly log: Logger,
  ) {
    this.ips = new PodIpAllocator(stateDir, layout.podRanges);
    this.sidecarBlocks = new SidecarCaptureBlocks(layout);
    this.processes = {};
    this.nodeProxyPods = new NodeProxyPods(client, log);
    this.deployments = new ResourceInformer(
      // A getter: after a failover the next watch goes to the replica the client moved to.
      {
        get address() {
          return client.address;
        },
        token: client.adminToken,
        listWithVersion: (info, ns) => client.listWithVersion(info, ns),
      },
      DEPLOYMENT,
      undefined,
      {
        onChange: () => this.requestReconcile(),
        onError: (err) => this.log.warn('watching deployments failed; retrying', { error: err }),
      },
    );
    this.supervisor = new MeshSupervisor(stateDir, layout, log, {
      nodeReadiness: (node, ready) => {
        if (ready) this.unreadyNodes.delete(node);
        else this.unreadyNodes.add(node);
        this.log.info(ready ? 'node proxy ready' : 'node proxy not ready: its pods are not ready', { node });
        for (const r of this.runners.values()) if (podNode(r.pod) === node) r.setNodeReady(ready);
        this.nodeProxyPods.update(node, { ready });
      },
      nodeProxyRestarting: (node, restarts, finishedAt) => this.nodeProxyPods.update(node, { ready: false, restarts, finishedAt }),
    });
  }

  /** Kills container processes a previous runtime left behind (it was killed), then starts watching Deployments. */
  async start(): Promise<void> {
    for (const [key, rec] of Object.entries(readPodProcesses(this.stateDir))) {
      if (await stopProcess(rec, 2_000)) this.log.info('stopped a container left by an earlier runtime', { container: key, pid: rec.pid });
    }
    writePodProcesses(this.stateDir, this.processes);
    this.supervisor.start();
    this.deployments.start();
  }

  /**
   * Reconciles after a Deployment changed or a pod's status did (a pod turning ready lets a rollout
   * proceed). One reconcile at a time; requests during one make exactly one more run after it.
   */
  private requestReconcile(): void {
    if (this.stopped) return;
    if (this.reconciling) {
      this.reconcileAgain = true;
      return;
    }
    this.reconciling = true;
    void this.reconcile()
      .catch((err: Error) => {
        this.log.warn('reconcile failed; retrying', { error: err });
        if (this.timer) clearTimeout(this.timer);
        this.timer = setTimeout(() => this.requestReconcile(), RECONCILE_RETRY_MS);
      })
      .finally(() => {
        this.reconciling = false;
        if (this.reconcileAgain) {
          this.reconcileAgain = false;
          this.requestReconcile();
        }
      });
  }

  private desired(d: Resource): Desired {
    const spec = d.spec as { replicas?: number; template: Record<string, unknown> };
    const workDir = d.metadata.annotations?.[ANNOTATION_WORKING_DIR] ?? this.layout.workDir;
    return { deployment: d, hash: templateHash(spec.template, workDir), replicas: spec.replicas ?? 1, workDir };
  }

  async reconcile(): Promise<void> {
    await this.deployments.synced;
    // In namespace/name order, as the list API answers: pods are created (and get IPs and nodes) in that
    // order whatever order the watch delivered the Deployments in, so a mesh comes up the same every time.
    const cmp = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
    const deployments = [...this.deployments.items()].sort(
      (a, b) => cmp(a.metadata.namespace ?? 'default', b.metadata.namespace ?? 'default') || cmp(a.metadata.name, b.metadata.name),
    );
    const byKey = new Map(deployments.map((d) => [`${d.metadata.namespace ?? 'default'}/${d.metadata.name}`, this.desired(d)]));
    if (!this.adopted) {
      await this.adopt(byKey);
      this.adopted = true;
    }
    for (const [key, want] of byKey) {
      const mine = [...this.runners.values()].filter((r) => `${r.namespace}/${r.deployment}` === key);
      const current = mine.filter((r) => r.hash === want.hash);
      const old = mine.filter((r) => r.hash !== want.hash);
      for (let i = current.length; i < want.replicas; i++) this.create(want);
      // Scale down: the newest go first, as a ReplicaSet does with equal readiness.
      for (const r of current.slice(want.replicas)) this.remove(r);
      // Rollout: old pods go once every new pod is ready (or right away when scaled to zero).
      if (old.length > 0 && (want.replicas === 0 || current.slice(0, want.replicas).filter((r) => r.ready).length >= want.replicas)) {
        for (const r of old) this.remove(r);
      }
    }
    for (const r of this.runners.values()) if (!byKey.has(`${r.namespace}/${r.deployment}`)) this.remove(r);
  }

  /** Pods of an earlier runtime: kept (same name and IP, processes started again) when still wanted. */
  private async adopt(byKey: Map<string, Desired>): Promise<void> {
    const pods = (await this.client.list(POD, undefined)).filter((p) => p.metadata.annotations?.[ANNOTATION_MANAGED_BY] === MANAGED_BY_RUNTIME);
    const kept = new Map<string, number>();
    for (const pod of pods) {
      const ns = pod.metadata.namespace ?? 'default';
      const deploy = pod.metadata.annotations?.[ANNOTATION_WORKLOAD_NAME] ?? '';
      const want = byKey.get(`${ns}/${deploy}`);
      const hash = pod.metadata.labels?.[LABEL_TEMPLATE_HASH];
      const count = kept.get(`${ns}/${deploy}`) ?? 0;
      const ip = pod.status?.['podIP'];
      if (!want || hash !== want.hash || count >= want.replicas || typeof ip !== 'string') {
        await this.client.delete(POD, ns, pod.metadata.name);
        this.ips.release(`${ns}/${pod.metadata.name}`);
        continue;
      }
      kept.set(`${ns}/${deploy}`, count + 1);
      this.ips.claim(`${ns}/${pod.metadata.name}`, ip);
      const restarts: Record<string, number> = {};
      for (const s of (pod.status?.['containerStatuses'] as Array<{ name: string; restartCount: number }> | undefined) ?? []) restarts[s.name] = s.restartCount;
      this.launch(new PodRunner(pod, deploy, want.hash, want.workDir, this.host(), restarts));
    }
  }

  /**
   * The node of a new pod: the template's `nodeName` when it names a node of this mesh (as Kubernetes binds
   * such a pod without a scheduler), else the next node round robin.
   */
  private placement(requested: unknown, ns: string, deployment: string): string {
    if (typeof requested === 'string' && requested !== '') {
      const k = Number(/^node-(\d+)$/.exec(requested)?.[1] ?? 0);
      if (k >= 1 && k <= this.layout.nodes) return requested;
      const fallback = nodeName((this.nextNode++ % this.layout.nodes) + 1);
      recordEvent(deploymentEventsFile(this.stateDir, ns, deployment), 'Warning', 'NodeNotFound', `nodeName "${requested}" is not a node of this mesh (node-1..node-${this.layout.nodes}); placed on ${fallback}`);
      return fallback;
    }
    return nodeName((this.nextNode++ % this.layout.nodes) + 1);
  }

  private create(want: Desired): void {
    const d = want.deployment;
    const ns = d.metadata.namespace ?? 'default';
    const template = (d.spec as { template: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: Record<string, unknown> } }).template;
    let name = podName(d.metadata.name, want.hash);
    while (this.runners.has(`${ns}/${name}`)) name = podName(d.metadata.name, want.hash);
    const node = this.placement(template.spec['nodeName'], ns, d.metadata.name);
    const ip = this.ips.allocate(`${ns}/${name}`, nodePodRange(this.layout, Number(/^node-(\d+)$/.exec(node)?.[1] ?? 0)));
    const pod: Resource = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: ns,
        labels: { ...(template.metadata?.labels ?? {}), [LABEL_TEMPLATE_HASH]: want.hash },
        annotations: {
          ...(template.metadata?.annotations ?? {}),
          [ANNOTATION_WORKLOAD_NAME]: d.metadata.name,
          [ANNOTATION_WORKLOAD_KIND]: 'Deployment',
          [ANNOTATION_MANAGED_BY]: MANAGED_BY_RUNTIME,
        },
      },
      spec: { ...template.spec, nodeName: node, serviceAccountName: String(template.spec['serviceAccountName'] ?? template.spec['serviceAccount'] ?? 'default') },
      status: { phase: 'Pending', podIP: ip, podIPs: [{ ip }], hostIP: this.nodeAddress(node) },
    };
    this.log.info('creating pod', { pod: `${ns}/${name}`, node, ip, deployment: d.metadata.name });
    recordEvent(deploymentEventsFile(this.stateDir, ns, d.metadata.name), 'Normal', 'SuccessfulCreate', `Created pod: ${name}`);
    this.launch(new PodRunner(pod, d.metadata.name, want.hash, want.workDir, this.host()));
  }

  private launch(r: PodRunner): void {
    this.runners.set(r.key, r);
    if (this.unreadyNodes.has(podNode(r.pod))) r.setNodeReady(false);
    r.start().catch((err: Error) => this.log.error('pod start failed', { pod: r.key, error: err }));
  }

  private remove(r: PodRunner): void {
    this.runners.delete(r.key);
    this.log.info('deleting pod', { pod: r.key });
    recordEvent(deploymentEventsFile(this.stateDir, r.namespace, r.deployment), 'Normal', 'SuccessfulDelete', `Deleted pod: ${r.name}`);
    void (async () => {
      await r.stop();
      if (podNetns(r.pod)) await releasePodNetwork(this.layout, r.pod).catch((err: Error) => this.log.warn('cannot remove the pod network namespace', { pod: r.key, error: err }));
      await this.client.delete(POD, r.namespace, r.name).catch((err: Error) => this.log.warn('cannot delete pod resource', { pod: r.key, error: err }));
      this.ips.release(r.key);
      this.sidecarBlocks.release(r.key);
    })();
  }

  private nodeAddress(node: string): string {
    const k = Number(/^node-(\d+)$/.exec(node)?.[1] ?? 1);
    return nodeAddress(this.layout, k);
  }

  private host() {
    return {
      stateDir: this.stateDir,
      log: this.log,
      nodeAddress: (node: string) => this.nodeAddress(node),
      writePod: async (pod: Resource) => {
        // A pod being deleted must not be written back by a late status update.
        if (!this.runners.get(`${pod.metadata.namespace}/${pod.metadata.name}`)) return;
        try {
          await this.client.put(POD, pod);
        } finally {
          this.requestReconcile();
        }
      },
      processStarted: (key: string, rec: PodProcessTable[string]) => {
        this.processes[key] = rec;
        writePodProcesses(this.stateDir, this.processes);
      },
      processExited: (key: string) => {
        delete this.processes[key];
        writePodProcesses(this.stateDir, this.processes);
      },
      ...(this.layout.mode === 'netns' ? { preparePod: (pod: Resource) => this.preparePodNetns(pod) } : {}),
      sidecarArgs: (pod: Resource) => {
        const block = this.sidecarBlocks.allocate(`${pod.metadata.namespace ?? 'default'}/${pod.metadata.name}`);
        return block ? ['--control-plane', controlPlaneAddresses(this.layout, this.layout.grpcPort), '--capture-range', block] : undefined;
      },
    };
  }

  /**
   * netns mode: enrollment by Istio's labels on the pod and its namespace, recorded on the pod as istio-cni
   * does (the control plane makes such pods HBONE), then the pod's namespace and, when enrolled, its rules.
   */
  private async preparePodNetns(pod: Resource): Promise<void> {
    const ns = pod.metadata.namespace ?? 'default';
    const namespace = await this.client.get(NAMESPACE, ns, ns);
    const spec = pod.spec as Record<string, unknown>;
    const e = enrollment({ podLabels: pod.metadata.labels ?? {}, namespaceLabels: namespace?.metadata.labels ?? {}, hasSidecar: wantsSidecar(pod) });
    const annotations = { ...(pod.metadata.annotations ?? {}) };
    annotations[ANNOTATION_NETNS] = podNetnsName(this.layout.netnsPrefix ?? NETNS_PREFIX, String(spec['nodeName']), ns, pod.metadata.name);
    if (e.enrolled) annotations[ANNOTATION_AMBIENT_REDIRECTION] = AMBIENT_REDIRECTION_ENABLED;
    else delete annotations[ANNOTATION_AMBIENT_REDIRECTION];
    pod.metadata.annotations = annotations;
    this.log.info(e.enrolled ? 'pod enrolled in the mesh' : 'pod not in the mesh', { pod: `${ns}/${pod.metadata.name}`, netns: annotations[ANNOTATION_NETNS], ...(e.enrolled ? { by: e.by } : { why: e.why }) });
    await preparePodNetwork(this.layout, pod, e.enrolled);
  }

  /** Stops every pod's processes; the Pod resources stay, so the next runtime adopts them. */
  async stop(): Promise<void> {
    this.stopped = true;
    // First, so nothing is restarted while `down` stops the mesh.
    this.supervisor.stop();
    if (this.timer) clearTimeout(this.timer);
    await this.deployments.stop();
    await Promise.all([...this.runners.values()].map((r) => r.stop()));
  }
}

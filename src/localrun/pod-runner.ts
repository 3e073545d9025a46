// One pod of the local runtime: registers the Pod, waits for its node proxy's listeners and certificate,
// runs each container as a process, restarts crashed ones with backoff, reports status through the Pod.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, openSync, mkdirSync, renameSync, statSync } from 'node:fs';
import type { Resource } from '../api/types.js';
import type { Logger } from '../logging/logger.js';
import { rfc3339Now, probeContainer, type ContainerSpec } from './container-probe.js';
import { fetchCapture, fetchCapturedNetns, fetchConfigDump, podUid } from './node-admin.js';
import { AMBIENT_REDIRECTION_ENABLED, ANNOTATION_AMBIENT_REDIRECTION } from '../api/labels.js';
import { connectingSocketInNetns } from '../dataplane/capture/netns/native.js';
import { inPodArgv, podNetns } from './netns-network.js';
import { expandVars } from './command-expansion.js';
import { packageRoot } from '../config/paths.js';
import { podEnv, serviceVipMappings, unsupportedEnv } from './pod-env.js';
import { podEventsFile, recordEvent, type PodEvent } from './pod-events.js';
import { baseEnv, isMeshComponent, podUser, protectStateDir } from './pod-user.js';
import { podLogDir, podLogFile, previousLogFile } from './pod-processes.js';
import { processStartTime, type ProcessRecord } from './processes.js';
import { SIDECAR_CONTAINER, spawnSidecar, wantsSidecar } from './sidecar-process.js';

/** Kubernetes starts at 10 s and caps at 5 min; a laptop mesh wants crashes visible quickly: 1 s doubling to 10 s. */
export const RESTART_BACKOFF_INITIAL_MS = 1_000;
export const RESTART_BACKOFF_MAX_MS = 10_000;
/** A container that ran this long is considered healthy again: the next crash starts the backoff over. */
const BACKOFF_RESET_AFTER_MS = 10_000;
/** Bound on waiting for the node proxy to open the pod's listeners and fetch its certificate. */
export const MESH_READY_TIMEOUT_MS = 20_000;
/** Upper bound on terminationGracePeriodSeconds: `down` must finish in seconds. */
export const MAX_GRACE_MS = 10_000;
/** A never-ready container records one Unhealthy event per this interval, not one per probe. */
const UNHEALTHY_EVENT_INTERVAL_MS = 10_000;

export interface PodHost {
  stateDir: string;
  log: Logger;
  nodeAddress(node: string): string;
  /** Writes the Pod resource (create or update). */
  writePod(pod: Resource): Promise<void>;
  processStarted(key: string, rec: ProcessRecord): void;
  processExited(key: string): void;
  /** Arguments for a sidecar pod's `l4mesh sidecar` besides workload, address and node; undefined: none can run. */
  sidecarArgs?(pod: Resource): string[] | undefined;
  /** netns mode: annotates the pod and makes its network namespace (and in-pod rules) before anything runs. */
  preparePod?(pod: Resource): Promise<void>;
}

interface ContainerState {
  spec: ContainerSpec;
  child?: ChildProcess;
  restartCount: number;
  startedAt?: string;
  ready: boolean;
  waiting?: { reason: string; message?: string };
  lastTerminated?: { exitCode: number | null; signal: string | null; finishedAt: string };
  backoffMs: number;
  timer?: NodeJS.Timeout;
  lastUnhealthyEventMs?: number;
}

export class PodRunner {
  private readonly containers: ContainerState[];
  private stopping = false;
  private writes: Promise<void> = Promise.resolve();
  private mappings: Awaited<ReturnType<typeof fetchCapture>> = [];
  private sidecar?: ChildProcess;
  /** False while the pod's node proxy is down: nothing reaches the pod through the mesh, so it is not ready. */
  private nodeReady = true;
  /**
   * netns mode: false until the pod's namespace and rules exist. The Pod is not written before, so no node
   * proxy opens listeners in a namespace that is still being set up (a socket bound there before its
   * loopback is up answers DNS from the wrong address).
   */
  private sandboxReady: boolean;

  constructor(
    readonly pod: Resource,
    readonly deployment: string,
    readonly hash: string,
    private readonly workDir: string,
    private readonly host: PodHost,
    restartCounts: Record<string, number> = {},
  ) {
    this.sandboxReady = host.preparePod === undefined;
    const spec = pod.spec as { containers: ContainerSpec[] };
    this.containers = spec.containers.map((c) => ({ spec: c, restartCount: restartCounts[c.name] ?? 0, ready: false, backoffMs: RESTART_BACKOFF_INITIAL_MS }));
  }

  get name(): string {
    return this.pod.metadata.name;
  }
  get namespace(): string {
    return this.pod.metadata.namespace ?? 'default';
  }
  get key(): string {
    return `${this.namespace}/${this.name}`;
  }
  get ready(): boolean {
    return this.containers.every((c) => c.ready);
  }
  private get node(): string {
    return String((this.pod.spec as Record<string, unknown>)['nodeName']);
  }

  setNodeReady(ready: boolean): void {
    if (this.nodeReady === ready) return;
    this.nodeReady = ready;
    void this.report();
  }

  async start(): Promise<void> {
    this.pod.status = { ...(this.pod.status ?? {}), phase: 'Pending', startTime: (this.pod.status?.['startTime'] as string) ?? rfc3339Now() };
    try {
      await this.host.preparePod?.(this.pod);
    } catch (err) {
      const message = `cannot make the pod's network namespace: ${(err as Error).message}`;
      for (const c of this.containers) c.waiting = { reason: 'CreateContainerError', message };
      this.event('Warning', 'FailedCreatePodSandBox', message);
      this.sandboxReady = true;
      await this.report();
      return;
    }
    this.sandboxReady = true;
    await this.report();
    mkdirSync(podLogDir(this.host.stateDir, this.namespace, this.name), { recursive: true });
    this.event('Normal', 'Scheduled', `Successfully assigned ${this.key} to ${this.node}`);
    if (wantsSidecar(this.pod)) this.startSidecar();
    await this.waitForMesh();
    if (this.stopping) return;
    for (const c of this.containers) this.launch(c);
  }

  /** Until the node proxy listens for every service port of the namespace and holds the pod's certificate. */
  private async waitForMesh(): Promise<void> {
    if (podNetns(this.pod)) return this.waitForNetnsMesh();
    // A sidecar pod's listeners and certificate are its sidecar's, on the pod IP.
    const address = this.sidecar ? String(this.pod.status?.['podIP']) : this.host.nodeAddress(this.node);
    const uid = podUid(this.namespace, this.name);
    const sa = String((this.pod.spec as Record<string, unknown>)['serviceAccountName'] ?? 'default');
    const deadline = Date.now() + MESH_READY_TIMEOUT_MS;
    let why = 'node proxy not reachable';
    while (!this.stopping && Date.now() < deadline) {
      try {
        const [dump, mappings] = await Promise.all([fetchConfigDump(address), fetchCapture(address)]);
        const expected = dump.services
          .filter((s) => s['namespace'] === this.namespace)
          .reduce((n, s) => n + (Array.isArray(s['ports']) ? (s['ports'] as unknown[]).length : 0), 0);
        const mine = mappings.filter((m) => m.workloadUid === uid);
        const cert = dump.certificates.find((c) => c.identity.endsWith(`/ns/${this.namespace}/sa/${sa}`) && c.state === 'Available');
        this.mappings = mappings;
        if (mine.length >= expected && cert) return;
        why = `${mine.length}/${expected} outbound listeners, certificate ${cert ? 'ready' : 'pending'}`;
      } catch (err) {
        why = (err as Error).message;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    if (!this.stopping) this.host.log.warn('starting pod before the mesh is ready for it', { pod: this.key, node: this.node, waited: why });
  }

  /**
   * netns mode: an enrolled pod waits until its node proxy listens inside its namespace and holds its
   * certificate; every pod gets the services' VIPs for its environment.
   */
  private async waitForNetnsMesh(): Promise<void> {
    const address = this.host.nodeAddress(this.node);
    const netns = podNetns(this.pod)!;
    const enrolled = this.pod.metadata.annotations?.[ANNOTATION_AMBIENT_REDIRECTION] === AMBIENT_REDIRECTION_ENABLED;
    const sa = String((this.pod.spec as Record<string, unknown>)['serviceAccountName'] ?? 'default');
    const deadline = Date.now() + MESH_READY_TIMEOUT_MS;
    let why = 'node proxy not reachable';
    while (!this.stopping && Date.now() < deadline) {
      try {
        const [dump, captured] = await Promise.all([fetchConfigDump(address), enrolled ? fetchCapturedNetns(address) : Promise.resolve([])]);
        this.mappings = serviceVipMappings(dump.services, this.pod);
        const cert = dump.certificates.find((c) => c.identity.endsWith(`/ns/${this.namespace}/sa/${sa}`) && c.state === 'Available');
        if (!enrolled || (captured.includes(netns) && cert)) return;
        why = `in-pod listeners ${captured.includes(netns) ? 'open' : 'not open yet'}, certificate ${cert ? 'ready' : 'pending'}`;
      } catch (err) {
        why = (err as Error).message;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    if (!this.stopping) this.host.log.warn('starting pod before the mesh is ready for it', { pod: this.key, node: this.node, waited: why });
  }

  /** The pod's own proxy, before its containers (like Istio's native sidecar); not restarted if it dies. */
  private startSidecar(): void {
    const extra = this.host.sidecarArgs?.(this.pod);
    if (!extra) {
      this.host.log.warn('no outbound address block left for a sidecar; the pod runs without one', { pod: this.key });
      return;
    }
    const ip = String(this.pod.status?.['podIP']);
    const args = ['--workload', this.key, '--address', ip, '--node', this.node, '--state-dir', this.host.stateDir, ...extra];
    const log = podLogFile(this.host.stateDir, this.namespace, this.name, SIDECAR_CONTAINER);
    const { child, command } = spawnSidecar(args, log, process.env);
    this.sidecar = child;
    const key = `${this.key}/${SIDECAR_CONTAINER}`;
    child.once('spawn', () => this.host.processStarted(key, { pid: child.pid!, startTime: processStartTime(child.pid!), address: ip, command, log }));
    child.once('error', (err) => this.host.log.warn('cannot start the sidecar', { pod: this.key, error: err }));
    child.once('close', (code, signal) => {
      this.host.processExited(key);
      if (!this.stopping) this.host.log.warn('sidecar exited', { pod: this.key, code, signal });
    });
  }

  /** Re-reads the outbound listener mappings; on failure the previous ones stay (the listeners persist). */
  private async refreshMappings(): Promise<void> {
    const address = this.sidecar ? String(this.pod.status?.['podIP']) : this.host.nodeAddress(this.node);
    try {
      this.mappings = podNetns(this.pod) ? serviceVipMappings((await fetchConfigDump(address)).services, this.pod) : await fetchCapture(address);
    } catch (err) {
      this.host.log.warn('cannot refresh the service environment; restarting with the previous one', { pod: this.key, error: err });
    }
  }

  private launch(c: ContainerState): void {
    if (this.stopping) return;
    const problem = unsupportedEnv(c.spec.env) ?? (c.spec.command?.length || c.spec.args?.length ? undefined : `container "${c.spec.name}" has no command: the local runtime runs command + args (image "${c.spec.image ?? ''}" is informational)`);
    if (problem) {
      c.waiting = { reason: 'CreateContainerConfigError', message: problem };
      this.containerFailed(c, `Error: ${problem}`);
      void this.report();
      return;
    }
    const meshComponent = isMeshComponent(this.pod);
    const cwd = c.spec.workingDir ?? this.workDir;
    const vars = podEnv(this.pod, this.mappings, c.spec.env ?? []);
    // $(VAR) from the container's own variables (not the runtime's shell), as the kubelet expands them.
    const argv = [...(c.spec.command ?? []), ...(c.spec.args ?? [])].map((a) => expandVars(a, vars));
    const root = packageRoot();
    const needs = argv.some((a) => a.startsWith(root)) ? [cwd, root] : [cwd];
    const who = meshComponent ? {} : podUser(this.pod.spec, c.spec, undefined, needs);
    if ('problem' in who) {
      c.waiting = { reason: 'CreateContainerConfigError', message: `container "${c.spec.name}": ${who.problem}` };
      void this.report();
      return;
    }
    if (who.ignored && c.restartCount === 0) this.host.log.warn(who.ignored, { pod: this.key, container: c.spec.name });
    if (who.user) protectStateDir(this.host.stateDir);
    const env = { ...(meshComponent ? (process.env as Record<string, string>) : baseEnv(who.user)), ...vars };
    const log = podLogFile(this.host.stateDir, this.namespace, this.name, c.spec.name);
    rotateLog(log);
    const fd = openSync(log, 'a');
    const key = `${this.key}/${c.spec.name}`;
    let child: ChildProcess;
    try {
      // No shell: argv goes to the program as written; `command[0]` is looked up on PATH.
      const netns = podNetns(this.pod);
      if (netns) {
        // `ip netns exec` enters the namespace (and its resolv.conf) as root, then drops to the pod's user.
        const inPod = inPodArgv(netns, argv, who.user);
        child = spawn(inPod[0]!, inPod.slice(1), { cwd, env, detached: true, stdio: ['ignore', fd, fd] });
      } else {
        child = spawn(argv[0]!, argv.slice(1), { cwd, env, detached: true, stdio: ['ignore', fd, fd], uid: who.user?.uid, gid: who.user?.gid });
      }
    } catch (err) {
      // Most spawn failures arrive as 'error' events; a refused setuid/setgid (EPERM) is thrown.
      c.waiting = { reason: 'RunContainerError', message: `${argv[0]}: ${(err as Error).message}` };
      void this.report();
      return;
    } finally {
      closeSync(fd);
    }
    c.child = child;
    const startedMs = Date.now();
    child.once('spawn', () => {
      c.startedAt = rfc3339Now();
      c.waiting = undefined;
      this.host.processStarted(key, { pid: child.pid!, startTime: processStartTime(child.pid!), command: argv, log });
      this.event('Normal', 'Started', `Started container ${c.spec.name}`);
      void this.report();
      const onProbeFailure = (what: string) => this.probeFailed(c, what);
      const netns = podNetns(this.pod);
      const dial = netns ? (host: string, port: number) => connectingSocketInNetns(netns, host, port) : undefined;
      void probeContainer(c.spec, String(this.pod.status?.['podIP']), () => this.stopping || c.child !== child, onProbeFailure, dial).then((ok) => {
        if (ok && c.child === child && !this.stopping) {
          c.ready = true;
          void this.report();
        }
      });
    });
    child.once('error', (err) => {
      const as = who.user && (err as NodeJS.ErrnoException).code === 'EACCES' ? ` (as uid ${who.user.uid}: may that user enter ${cwd} and run ${argv[0]}? set securityContext.runAsUser or the directory's mode)` : '';
      c.waiting = { reason: 'RunContainerError', message: `${argv[0]}: ${err.message}${as}` };
      this.containerFailed(c, `Error: cannot start container ${c.spec.name}: ${err.message}${as} (command[0] "${argv[0]}" is run without a shell and looked up on PATH)`, log);
    });
    child.once('close', (code, signal) => {
      this.host.processExited(key);
      if (c.child !== child) return;
      c.child = undefined;
      c.ready = false;
      if (this.stopping) return;
      c.lastTerminated = { exitCode: code, signal, finishedAt: rfc3339Now() };
      c.restartCount++;
      if (Date.now() - startedMs >= BACKOFF_RESET_AFTER_MS) c.backoffMs = RESTART_BACKOFF_INITIAL_MS;
      const delay = c.backoffMs;
      c.backoffMs = Math.min(c.backoffMs * 2, RESTART_BACKOFF_MAX_MS);
      c.waiting ??= { reason: 'CrashLoopBackOff', message: `back-off ${delay / 1000}s restarting failed container=${c.spec.name} pod=${this.name}` };
      if (child.pid !== undefined) this.containerExited(c, code, signal);
      this.event('Warning', 'BackOff', `Back-off restarting failed container ${c.spec.name} in pod ${this.name}`);
      this.host.log.info('container exited; restarting', { pod: this.key, container: c.spec.name, code, signal, backoffMs: delay });
      void this.report();
      // A restarted container sees services created since the pod started, as a new Kubernetes pod would.
      c.timer = setTimeout(() => void this.refreshMappings().then(() => this.launch(c)), delay);
    });
  }

  // --- Events for `l4mesh describe` (src/localrun/pod-events.ts); none of these change what the pod does. ---

  private event(type: PodEvent['type'], reason: string, message: string): void {
    recordEvent(podEventsFile(this.host.stateDir, this.namespace, this.name), type, reason, message);
  }

  /** The container could not start: an event, and the error in its log so `l4mesh logs` shows why. */
  private containerFailed(c: ContainerState, message: string, log?: string): void {
    this.event('Warning', 'Failed', message);
    try {
      appendFileSync(log ?? podLogFile(this.host.stateDir, this.namespace, this.name, c.spec.name), `l4mesh: ${message}\n`);
    } catch {
      // the pod directory is gone (down --purge)
    }
  }

  private containerExited(c: ContainerState, code: number | null, signal: string | null): void {
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    this.event(code === 0 ? 'Normal' : 'Warning', code === 0 ? 'Completed' : 'Error', `Container ${c.spec.name} ${how}`);
  }

  private probeFailed(c: ContainerState, what: string): void {
    const now = Date.now();
    if (c.lastUnhealthyEventMs !== undefined && now - c.lastUnhealthyEventMs < UNHEALTHY_EVENT_INTERVAL_MS) return;
    c.lastUnhealthyEventMs = now;
    this.event('Warning', 'Unhealthy', `Readiness probe failed: ${what}`);
  }

  /** SIGTERM to each container's process group, SIGKILL after the grace period (at most 10 s). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.containers.some((c) => c.child)) this.event('Normal', 'Killing', `Stopping containers ${this.containers.filter((c) => c.child).map((c) => c.spec.name).join(', ')}`);
    const specGrace = (this.pod.spec as Record<string, unknown>)['terminationGracePeriodSeconds'];
    const graceMs = Math.min(typeof specGrace === 'number' ? specGrace * 1000 : 30_000, MAX_GRACE_MS);
    await Promise.all(
      this.containers.map(async (c) => {
        if (c.timer) clearTimeout(c.timer);
        const child = c.child;
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
        const kill = (sig: NodeJS.Signals) => {
          try {
            process.kill(-child.pid!, sig);
          } catch {
            child.kill(sig);
          }
        };
        kill('SIGTERM');
        const timer = setTimeout(() => kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }),
    );
    await this.stopSidecar(graceMs);
    await this.writes;
  }

  /** After the containers, so their last connections still go through it. */
  private async stopSidecar(graceMs: number): Promise<void> {
    const child = this.sidecar;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  private statusNow(): Record<string, unknown> {
    const running = this.containers.some((c) => c.child && c.startedAt);
    const ready = this.ready && this.nodeReady;
    const now = rfc3339Now();
    return {
      ...(this.pod.status ?? {}),
      phase: running || this.containers.some((c) => c.restartCount > 0) ? 'Running' : 'Pending',
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: now }],
      containerStatuses: this.containers.map((c) => ({
        name: c.spec.name,
        image: c.spec.image ?? '',
        ready: c.ready && this.nodeReady,
        restartCount: c.restartCount,
        started: Boolean(c.child),
        state: c.child && c.startedAt ? { running: { startedAt: c.startedAt } } : { waiting: c.waiting ?? { reason: 'ContainerCreating' } },
        ...(c.lastTerminated ? { lastState: { terminated: c.lastTerminated } } : {}),
      })),
    };
  }

  /** Status writes are serialized; the Ready condition's time only moves when readiness changes. */
  private report(): Promise<void> {
    this.writes = this.writes.then(async () => {
      if (this.stopping || !this.sandboxReady) return;
      const next = this.statusNow();
      const prev = this.pod.status?.['conditions'] as Array<Record<string, unknown>> | undefined;
      const nextCond = (next['conditions'] as Array<Record<string, unknown>>)[0]!;
      if (prev?.[0] && prev[0]['status'] === nextCond['status']) nextCond['lastTransitionTime'] = prev[0]['lastTransitionTime'];
      this.pod.status = next;
      try {
        await this.host.writePod(this.pod);
      } catch (err) {
        this.host.log.warn('cannot update pod status', { pod: this.key, error: err as Error });
      }
    });
    return this.writes;
  }
}

/** Before a container (re)starts, its last instance's output becomes `<container>.previous.log` (logs --previous). */
function rotateLog(log: string): void {
  try {
    if (existsSync(log) && statSync(log).size > 0) renameSync(log, previousLogFile(log));
  } catch {
    // keep appending to the same file rather than fail the start
  }
}

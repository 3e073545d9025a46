// Local-mode capture: one loopback listener per (local workload, service port). The listener a
// connection arrives on names its source workload and destination service — no root, no iptables.
// Not a security boundary: a process can dial a pod IP directly and bypass the mesh.
import { createServer, type Server, type Socket } from 'node:net';
import { fdPressure } from '../admin/fd-pressure.js';
import { adoptAccepted, pooledReadsStatus } from '../pooled-reads.js';
import type { MeshService, MeshWorkload } from '../../api/mesh.js';
import { serviceResourceName } from '../../api/mesh.js';
import type { Capture, CapturedConnection, OutboundMapping } from './capture.js';
import type { AddressBlocks } from './address-blocks.js';

interface Listener {
  server: Server;
  mapping: OutboundMapping;
  source: MeshWorkload;
  service: MeshService;
}

export class LocalCapture implements Capture {
  private readonly listeners = new Map<string, Listener>();
  private handler: (conn: CapturedConnection) => void = (conn) => conn.socket.destroy();
  private syncing: Promise<void> = Promise.resolve();
  /** Set once a connection could not switch to pooled reads although they were on, so that is reported once. */
  private readingUnpooled = false;

  constructor(
    private readonly blocks: AddressBlocks,
    private readonly onError: (message: string, fields: Record<string, unknown>) => void = () => {},
  ) {}

  onConnection(handler: (conn: CapturedConnection) => void): void {
    this.handler = handler;
  }

  sync(localWorkloads: readonly MeshWorkload[], servicesFor: (w: MeshWorkload) => readonly MeshService[]): Promise<void> {
    // Serialized: a second sync waits for the first, so a listener is never opened twice.
    this.syncing = this.syncing.then(() => this.reconcile(localWorkloads, servicesFor));
    return this.syncing;
  }

  private async reconcile(localWorkloads: readonly MeshWorkload[], servicesFor: (w: MeshWorkload) => readonly MeshService[]) {
    const wanted = new Map<string, { source: MeshWorkload; service: MeshService; port: number }>();
    for (const w of localWorkloads) {
      for (const s of servicesFor(w)) {
        for (const p of s.ports) wanted.set(`${w.uid}|${serviceResourceName(s)}|${p.servicePort}`, { source: w, service: s, port: p.servicePort });
      }
    }
    this.blocks.retain(new Set(localWorkloads.map((w) => w.uid)));
    const closing: Promise<void>[] = [];
    for (const [key, l] of this.listeners) {
      const want = wanted.get(key);
      if (want) {
        // Same listener, fresher objects (labels, waypoint ...).
        l.source = want.source;
        l.service = want.service;
      } else {
        this.listeners.delete(key);
        closing.push(new Promise((resolve) => l.server.close(() => resolve())));
      }
    }
    await Promise.all(closing);
    const opening: Promise<void>[] = [];
    for (const [key, want] of wanted) {
      if (this.listeners.has(key)) continue;
      const listenAddress = this.blocks.addressFor(want.source.uid, serviceResourceName(want.service));
      const mapping: OutboundMapping = {
        workloadUid: want.source.uid,
        workload: want.source.name,
        namespace: want.source.namespace,
        service: want.service.name,
        serviceNamespace: want.service.namespace,
        hostname: want.service.hostname,
        servicePort: want.port,
        listenAddress,
        listenPort: want.port,
      };
      const listener: Listener = { server: createServer({ noDelay: true, pauseOnConnect: true }), mapping, source: want.source, service: want.service };
      listener.server.on('connection', (socket: Socket) => {
        // Accepted paused so that no read happens before the switch to pooled reads. Reading starts at
        // once either way: a connection refused later must still have its first bytes read, or closing
        // it with unread data would send the client a RST instead of a FIN.
        // Off since start-up is expected (the self-test said why); failing after it passed is not.
        const wasOn = pooledReadsStatus().active;
        if (!adoptAccepted(socket) && wasOn && !this.readingUnpooled) {
          this.readingUnpooled = true;
          this.onError('outbound connections are read without pooled reads from now on (one new buffer per read)', {
            listener: `${listenAddress}:${want.port}`,
            reason: pooledReadsStatus().reason ?? 'the accepted socket already reads into a buffer of its own',
          });
        }
        socket.resume();
        this.handler({
          socket,
          source: listener.source,
          service: listener.service,
          destinationIp: listener.service.addresses[0] ?? listenAddress,
          destinationPort: want.port,
        });
      });
      this.listeners.set(key, listener);
      opening.push(
        new Promise<void>((resolve) => {
          const onListenError = (err: Error) => {
            this.listeners.delete(key);
            this.onError('cannot open outbound listener', { address: `${listenAddress}:${want.port}`, workload: want.source.name, error: err });
            resolve();
          };
          listener.server.once('error', onListenError);
          listener.server.listen(want.port, listenAddress, () => {
            // From here on errors are accept errors (EMFILE, ...): counted and logged, the listener stays.
            listener.server.off('error', onListenError);
            fdPressure.watch(listener.server, 'outbound', 'data');
            resolve();
          });
        }),
      );
    }
    await Promise.all(opening);
    await this.blocks.save();
  }

  mappings(): OutboundMapping[] {
    return [...this.listeners.values()]
      .map((l) => l.mapping)
      .sort((a, b) => a.workloadUid.localeCompare(b.workloadUid) || a.hostname.localeCompare(b.hostname) || a.servicePort - b.servicePort);
  }

  /** Stops accepting at once; connections already accepted are left to finish (the caller drains them). */
  async close(): Promise<void> {
    await this.syncing;
    const all = [...this.listeners.values()];
    this.listeners.clear();
    for (const l of all) l.server.close();
  }
}

/** Kubernetes-style service env vars for one workload: `RATINGS_SERVICE_HOST`, `RATINGS_SERVICE_PORT`. */
export function serviceEnv(mappings: readonly OutboundMapping[], workloadUid: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of mappings) {
    if (m.workloadUid !== workloadUid) continue;
    const prefix = m.service.toUpperCase().replace(/[^A-Z0-9]/g, '_');
    // The first port of a service is the one Kubernetes puts in *_SERVICE_PORT.
    if (env[`${prefix}_SERVICE_HOST`] === undefined) {
      env[`${prefix}_SERVICE_HOST`] = m.listenAddress;
      env[`${prefix}_SERVICE_PORT`] = String(m.listenPort);
    }
  }
  return env;
}

// The capture interface: how connections of local workloads reach the node proxy. Everything behind it
// sees (source workload, destination) and does the same thing whatever the mode.
import type { Socket } from 'node:net';
import type { MeshService, MeshWorkload } from '../../api/mesh.js';

/** An outbound connection a local workload opened, as the capture layer saw it. */
export interface CapturedConnection {
  socket: Socket;
  source: MeshWorkload;
  /** The service the workload dialled (local mode knows it from the listener). */
  service?: MeshService;
  /** The original destination `ip:port` (a service VIP:port, or a workload address). */
  destinationIp: string;
  destinationPort: number;
}

/** One outbound listener of local mode, published so the runtime can hand it to the workload as env vars. */
export interface OutboundMapping {
  workloadUid: string;
  workload: string;
  namespace: string;
  service: string;
  serviceNamespace: string;
  hostname: string;
  servicePort: number;
  listenAddress: string;
  listenPort: number;
}

export interface Capture {
  /** Called for every captured outbound connection. */
  onConnection(handler: (conn: CapturedConnection) => void): void;
  /** Reconciles listeners with the current local workloads and services. */
  sync(localWorkloads: readonly MeshWorkload[], servicesFor: (w: MeshWorkload) => readonly MeshService[]): Promise<void>;
  mappings(): OutboundMapping[];
  close(): Promise<void>;
}

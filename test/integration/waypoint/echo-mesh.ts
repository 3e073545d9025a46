// A mesh for the waypoint's byte-integrity tests: control plane + 2 node proxies, two `echo` pods (one per
// node) running a server the test supplies, the Service `echo-waypoint` (through the namespace's waypoint)
// and `echo-direct` (node proxies only) on the same port, a client pod, and the waypoint process.
import type { Server } from 'node:net';
import { eventually, podYaml, startMesh, type TestMesh } from '../../support/mesh.js';
import { startCli, type Child } from '../../support/processes.js';

export const ECHO_PORT = 7000;

export interface Listener {
  listenAddress: string;
  listenPort: number;
}

export interface EchoMesh {
  mesh: TestMesh;
  /** The client's outbound listeners: `waypoint` for echo-waypoint, `direct` for echo-direct. */
  waypoint: Listener;
  direct: Listener;
  /** What the waypoint process printed (its access log lines included), for failure messages. */
  waypointOutput(): string;
  stop(): Promise<void>;
}

function service(name: string, portName: string, useWaypoint: boolean): string {
  return `apiVersion: v1
kind: Service
metadata:
  name: ${name}${useWaypoint ? '\n  labels:\n    istio.io/use-waypoint: waypoint' : ''}
spec:
  selector:
    app: echo
  ports:
  - name: ${portName}
    port: ${ECHO_PORT}
---
`;
}

const WAYPOINT_SERVICE = `apiVersion: v1
kind: Service
metadata:
  name: waypoint
  labels:
    gateway.istio.io/managed: istio.io-mesh-controller
spec:
  selector:
    gateway.networking.k8s.io/gateway-name: waypoint
  ports:
  - name: mesh
    port: 15008
---
`;

/** `portName` decides the protocol (`tcp-…` raw bytes, `http-…` HTTP/1.1); `listen` starts one echo pod's server. */
export async function startEchoMesh(portName: string, listen: (ip: string, port: number) => Promise<Server>): Promise<EchoMesh> {
  const mesh = await startMesh({ nodes: 2 });
  const servers: Server[] = [];
  let waypoint: Child | undefined;
  const stop = async (): Promise<void> => {
    await waypoint?.stop();
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    await mesh.stop();
  };
  try {
    const waypointIp = mesh.podIp(50);
    servers.push(await listen(mesh.podIp(11), ECHO_PORT), await listen(mesh.podIp(12), ECHO_PORT));
    await mesh.apply(
      service('echo-waypoint', portName, true) +
        service('echo-direct', portName, false) +
        WAYPOINT_SERVICE +
        podYaml({ name: 'echo-1', ip: mesh.podIp(11), node: 'node-2', labels: { app: 'echo' }, serviceAccount: 'echo' }) +
        podYaml({ name: 'echo-2', ip: mesh.podIp(12), node: 'node-1', labels: { app: 'echo' }, serviceAccount: 'echo' }) +
        podYaml({ name: 'waypoint-7d9c', ip: waypointIp, node: 'node-1', labels: { 'gateway.networking.k8s.io/gateway-name': 'waypoint' }, serviceAccount: 'waypoint' }) +
        podYaml({ name: 'client', ip: mesh.podIp(20), node: 'node-1', labels: { app: 'client' }, serviceAccount: 'client' }),
    );
    waypoint = startCli(
      ['waypoint', '--namespace', 'default', '--address', waypointIp, '--node', 'node-1', '--control-plane', `${mesh.controlPlaneAddress}:15012`, '--state-dir', mesh.stateDir],
      { env: { SERVICE_ACCOUNT: 'waypoint', POD_NAME: 'waypoint-7d9c' } },
    );
    await waypoint.waitFor(/waypoint started/);
    await eventually(async () => (await fetch(`http://${waypointIp}:15021/healthz/ready`)).status === 200, 30_000, 'waypoint ready');
    const listener = (name: string): Promise<Listener> =>
      eventually(async () => {
        const mappings = JSON.parse(await mesh.proxyGet(1, 15000, '/capture')) as Array<Listener & { workload: string; hostname: string }>;
        return mappings.find((m) => m.workload === 'client' && m.hostname === `${name}.default.svc.cluster.local`);
      }, 30_000, `the client outbound listener for ${name}`);
    const viaWaypoint = await listener('echo-waypoint');
    const direct = await listener('echo-direct');
    for (const k of [1, 2]) await eventually(async () => (await fetch(`http://127.${mesh.base}.0.${k}:15021/healthz/ready`)).status === 200, 30_000, 'node ready');
    const w = waypoint;
    return { mesh, waypoint: viaWaypoint, direct, waypointOutput: () => w.output(), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A few bytes up to 1 MiB, cycled over a round's connections. */
export const SIZES = [3, 17, 200, 1_500, 16_000, 70_000, 300_000, 1_048_576];
/** The first bytes of a request carry the connection's number, 7 bits per byte. */
export const ID_BYTES = 4;

/** Byte `i` of connection `id`'s request: the id, then a pattern distinct per connection; high bit clear. */
export function requestByte(id: number, i: number): number {
  return i < ID_BYTES ? (id >> (7 * i)) & 0x7f : (id * 37 + i * 11 + (i >> 9)) & 0x7f;
}

export function requestBytes(id: number, size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = requestByte(id, i);
  return b;
}

/** A byte of the server's answer is the request byte with the high bit set. */
export function answerOf(request: Buffer): Buffer {
  return Buffer.from(request.map((b) => b ^ 0x80));
}

export interface Violation {
  id: number;
  offset: number;
  bytes: string;
}

/**
 * Checks a request stream as it arrives: every byte must be the sender's pattern (a server byte, high bit
 * set, or another connection's byte is a violation, recorded once per stream). Returns the answer chunk.
 */
export function requestChecker(violations: Violation[]): (chunk: Buffer) => Buffer {
  let offset = 0;
  let id = 0;
  let reported = false;
  return (chunk) => {
    const out = Buffer.allocUnsafe(chunk.length);
    for (let j = 0; j < chunk.length; j++) {
      const i = offset + j;
      const byte = chunk[j]!;
      if (i < ID_BYTES) id |= (byte & 0x7f) << (7 * i);
      const expected = i < ID_BYTES ? byte & 0x7f : requestByte(id, i);
      if (byte !== expected && !reported) {
        reported = true;
        violations.push({ id, offset: i, bytes: chunk.subarray(j, j + 8).toString('hex') });
      }
      out[j] = byte ^ 0x80;
    }
    offset += chunk.length;
    return out;
  };
}

/** Where `got` first differs from `want`, for a failure message; '' when they are equal. */
export function difference(got: Buffer, want: Buffer): string {
  let at = 0;
  while (at < Math.min(got.length, want.length) && got[at] === want[at]) at++;
  if (got.length === want.length && at === got.length) return '';
  return `answer ${got.length} of ${want.length} bytes, first difference at ${at}: ${got.subarray(at, at + 8).toString('hex')}`;
}

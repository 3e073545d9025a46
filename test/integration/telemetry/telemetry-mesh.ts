// Shared setup of the telemetry integration tests: a mesh with an `echo` service (sized replies) on
// node-2 and a `sleep` client on node-1, plus helpers to move known byte counts and read /metrics.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { eventually, podYaml, startMesh, type TestMesh } from '../../support/mesh.js';
import { parsePrometheusText, type Sample } from '../../support/prometheus-text.js';

export const ECHO_PORT = 7000;

/** A Deployment-style pod: owned by ReplicaSet `<deployment>-<hash>`, so its workload is `<deployment>`. */
export function deploymentPod(p: { deployment: string; pod: string; ip: string; node: string; labels: Record<string, string>; serviceAccount: string }): string {
  return podYaml({ name: p.pod, ip: p.ip, node: p.node, labels: p.labels, serviceAccount: p.serviceAccount, owner: p.deployment });
}

export const ECHO_SERVICE = `apiVersion: v1
kind: Service
metadata:
  name: echo
  namespace: default
spec:
  selector:
    app: echo
  ports:
  - name: tcp-echo
    port: ${ECHO_PORT}
---
`;

/**
 * The server of the exactness tests: reads the request until the client half-closes, whose first line is
 * the reply size B, then writes exactly B bytes and closes.
 */
export function startSizedReplyServer(ip: string, port: number): Promise<Server> {
  const open = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (s) => {
    open.add(s);
    s.on('close', () => open.delete(s));
    s.on('error', () => {});
    let head = '';
    let replied = false;
    s.on('data', (c: Buffer) => {
      if (head.length < 32) head += c.toString('latin1').slice(0, 32);
    });
    s.on('end', () => {
      if (replied) return;
      replied = true;
      const size = Number(head.split('\n')[0]);
      s.end(Buffer.alloc(Number.isFinite(size) ? size : 0, 0x62));
    });
  });
  sockets.set(server, open);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, ip, () => resolve(server));
  });
}

const sockets = new WeakMap<Server, Set<Socket>>();

/** Closes a test server and every connection it still has. */
export function closeServer(server: Server): Promise<void> {
  for (const s of sockets.get(server) ?? []) s.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A request of exactly `requestBytes` that asks for `replyBytes` back. */
export function sizedRequest(requestBytes: number, replyBytes: number): Buffer {
  const head = Buffer.from(`${replyBytes}\n`);
  if (requestBytes < head.length) throw new Error(`request of ${requestBytes} bytes cannot carry its header`);
  return Buffer.concat([head, Buffer.alloc(requestBytes - head.length, 0x61)]);
}

/** Sends the request, half-closes, and resolves with the number of bytes received once the server closes. */
export function exchange(ip: string, port: number, request: Buffer, timeoutMs = 10_000): Promise<number> {
  return new Promise((resolve, reject) => {
    let received = 0;
    const socket: Socket = connect({ host: ip, port, allowHalfOpen: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close from ${ip}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (c: Buffer) => (received += c.length));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.on('connect', () => socket.end(request));
  });
}

export async function scrape(mesh: TestMesh, node: number): Promise<Sample[]> {
  return parsePrometheusText(await mesh.proxyGet(node, 15020, '/metrics'));
}

export interface EchoMesh {
  mesh: TestMesh;
  servers: Server[];
  listen: { listenAddress: string; listenPort: number };
  stop(): Promise<void>;
}

/** Control plane, node-1 (sleep client) and node-2 (echo-v1 server pod), all ready, listener known. */
export async function startEchoMesh(options: { reportingDuration?: string; extraZtunnelArgs?: string[]; echo?: 'sized' | 'none' } = {}): Promise<EchoMesh> {
  const mesh = await startMesh({ nodes: 2, ...options });
  const servers: Server[] = [];
  const stop = async () => {
    await Promise.all(servers.map((s) => closeServer(s)));
    await mesh.stop();
  };
  try {
    if ((options.echo ?? 'sized') === 'sized') servers.push(await startSizedReplyServer(mesh.podIp(11), ECHO_PORT));
    let yaml = ECHO_SERVICE;
    if ((options.echo ?? 'sized') === 'sized') {
      yaml += deploymentPod({ deployment: 'echo-v1', pod: 'echo-v1-5c8f6d9b7-x7k2p', ip: mesh.podIp(11), node: 'node-2', labels: { app: 'echo', version: 'v1' }, serviceAccount: 'echo' });
    }
    yaml += deploymentPod({ deployment: 'sleep', pod: 'sleep-5c8f6d9b7-q2w3e', ip: mesh.podIp(20), node: 'node-1', labels: { app: 'sleep' }, serviceAccount: 'sleep' });
    await mesh.apply(yaml);
    const listen = await eventually(async () => {
      const mappings = JSON.parse(await mesh.proxyGet(1, 15000, '/capture')) as Array<{ workload: string; hostname: string; listenAddress: string; listenPort: number }>;
      return mappings.find((m) => m.hostname === 'echo.default.svc.cluster.local');
    }, 15_000, 'the sleep outbound listener for echo');
    for (const k of [1, 2]) await eventually(async () => (await fetch(`http://127.${mesh.base}.0.${k}:15021/healthz/ready`)).status === 200, 15_000, 'ready');
    return { mesh, servers, listen, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

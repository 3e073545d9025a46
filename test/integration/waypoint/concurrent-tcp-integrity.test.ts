// Byte integrity of many concurrent raw TCP connections through the waypoint (and, as a control, through
// the node proxies alone): every client→server byte the server receives is the client's own pattern,
// every byte coming back is exactly the server's answer — both directions at once, 3 B to 1 MiB.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { eventually, podYaml, startMesh, type TestMesh } from '../../support/mesh.js';
import { startCli, type Child } from '../../support/processes.js';

const ECHO_PORT = 7000;
/** Connections opened at once per round, and rounds per path. */
const CONNECTIONS = 60;
const ROUNDS = 4;
/** Request sizes, cycled over the connections: a few bytes up to 1 MiB. */
const SIZES = [3, 17, 200, 1_500, 16_000, 70_000, 300_000, 1_048_576];
/** The first bytes of a request carry the connection's number, 7 bits per byte. */
const ID_BYTES = 4;

/** Client bytes have the high bit clear; the server answers each byte with the high bit set. */
function requestBytes(id: number, size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = i < ID_BYTES ? (id >> (7 * i)) & 0x7f : (id * 37 + i * 11 + (i >> 9)) & 0x7f;
  return b;
}

interface Violation {
  id: number;
  offset: number;
  bytes: string;
}

/** An echo that flips the high bit and checks every received byte against the sender's pattern. */
function startEchoServer(ip: string, violations: Violation[]): Promise<Server> {
  const server = createServer({ allowHalfOpen: true }, (socket: Socket) => {
    let offset = 0;
    let id = 0;
    let reported = false;
    socket.on('data', (chunk: Buffer) => {
      const out = Buffer.allocUnsafe(chunk.length);
      for (let j = 0; j < chunk.length; j++) {
        const i = offset + j;
        const byte = chunk[j]!;
        if (i < ID_BYTES) id |= (byte & 0x7f) << (7 * i);
        const expected = i < ID_BYTES ? byte & 0x7f : (id * 37 + i * 11 + (i >> 9)) & 0x7f;
        if (byte !== expected && !reported) {
          reported = true;
          violations.push({ id, offset: i, bytes: chunk.subarray(j, j + 8).toString('hex') });
        }
        out[j] = byte ^ 0x80;
      }
      offset += chunk.length;
      socket.write(out);
    });
    socket.on('end', () => socket.end());
    socket.on('error', () => socket.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(ECHO_PORT, ip, () => resolve(server));
  });
}

interface Outcome {
  id: number;
  size: number;
  ok: boolean;
  detail: string;
}

/** One connection: sends its pattern, half-closes, and compares the whole answer byte by byte. */
function exchange(listen: { listenAddress: string; listenPort: number }, id: number, size: number): Promise<Outcome> {
  const sent = requestBytes(id, size);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: listen.listenAddress, port: listen.listenPort, allowHalfOpen: true });
    const timer = setTimeout(() => socket.destroy(new Error('no complete answer within 120 s')), 120_000);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => {
      clearTimeout(timer);
      const got = Buffer.concat(chunks);
      const want = Buffer.from(sent.map((b) => b ^ 0x80));
      let at = 0;
      while (at < Math.min(got.length, want.length) && got[at] === want[at]) at++;
      const ok = got.length === want.length && at === got.length;
      resolve({ id, size, ok, detail: ok ? '' : `answer ${got.length} of ${size} bytes, first difference at ${at}: ${got.subarray(at, at + 8).toString('hex')}` });
      socket.destroy();
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      resolve({ id, size, ok: false, detail: `error ${err.message}` });
    });
    socket.on('connect', () => socket.end(sent));
  });
}

let mesh: TestMesh;
let waypoint: Child | undefined;
const servers: Server[] = [];
const violations: Violation[] = [];
const listeners: Record<string, { listenAddress: string; listenPort: number }> = {};

before(async () => {
  mesh = await startMesh({ nodes: 2 });
  const waypointIp = mesh.podIp(50);
  servers.push(await startEchoServer(mesh.podIp(11), violations), await startEchoServer(mesh.podIp(12), violations));
  const service = (name: string, labels: string): string => `apiVersion: v1
kind: Service
metadata:
  name: ${name}${labels}
spec:
  selector:
    app: echo
  ports:
  - name: tcp-echo
    port: ${ECHO_PORT}
---
`;
  await mesh.apply(
    service('echo-waypoint', '\n  labels:\n    istio.io/use-waypoint: waypoint') +
      service('echo-direct', '') +
      `apiVersion: v1
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
` +
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
  for (const name of ['echo-waypoint', 'echo-direct']) {
    listeners[name] = await eventually(async () => {
      const mappings = JSON.parse(await mesh.proxyGet(1, 15000, '/capture')) as Array<{ workload: string; hostname: string; listenAddress: string; listenPort: number }>;
      return mappings.find((m) => m.workload === 'client' && m.hostname === `${name}.default.svc.cluster.local`);
    }, 30_000, `the client outbound listener for ${name}`);
  }
  for (const k of [1, 2]) await eventually(async () => (await fetch(`http://127.${mesh.base}.0.${k}:15021/healthz/ready`)).status === 200, 30_000, 'node ready');
});

after(async () => {
  await waypoint?.stop();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  await mesh?.stop();
});

async function rounds(service: string): Promise<void> {
  const listen = listeners[service]!;
  violations.length = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const base = round * CONNECTIONS;
    const outcomes = await Promise.all(Array.from({ length: CONNECTIONS }, (_, i) => exchange(listen, base + i, SIZES[i % SIZES.length]!)));
    const bad = outcomes.filter((o) => !o.ok).map((o) => `#${o.id} (${o.size} B): ${o.detail}`);
    assert.deepEqual(violations, [], `round ${round + 1} through ${service}: server received bytes that are not the client's`);
    assert.deepEqual(bad, [], `round ${round + 1} through ${service}: answers that differ`);
  }
}

test(`through the waypoint: ${ROUNDS} rounds of ${CONNECTIONS} concurrent connections (3 B–1 MiB, both ways) arrive byte-exact`, { timeout: 600_000 }, async () => {
  await rounds('echo-waypoint');
});

test(`through the node proxies only: ${ROUNDS} rounds of ${CONNECTIONS} concurrent connections arrive byte-exact`, { timeout: 600_000 }, async () => {
  await rounds('echo-direct');
});

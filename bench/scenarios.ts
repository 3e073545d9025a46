// The scenarios the benchmark compares, each started the way a user would run it, with the same echo
// and iperf3 backends behind it. A scenario tells the measurements where to connect and which process
// ids are "the proxies" (for RSS and CPU).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTool, type Tool } from './proc.js';
import { startMesh, eventually, podYaml, type TestMesh } from '../test/support/mesh.js';
import { makePeerPki, type PeerPki } from './peers/pki.js';
import { startHaproxyPair, startNodeTlsPair, startStunnelPair, type Forward } from './peers/tunnels.js';
import { binaryOf } from './peers/install.js';
import type { HboneTransport } from '../src/dataplane/hbone/transport.js';

export interface Endpoint {
  host: string;
  port: number;
}

/** How a client or backend process is started: as is, or wrapped (netns mode: inside a pod's namespace). */
export type Launch = (command: string, args: string[]) => [command: string, args: string[]];
export const onHost: Launch = (command, args) => [command, args];

export interface Sides {
  client: number[];
  server: number[];
}

export interface RunningScenario {
  echo: Endpoint;
  iperf: Endpoint;
  /** Where the load generator and iperf3's client run; default the harness's own namespace. */
  launch?: Launch;
  proxyPids: number[];
  /**
   * The processes of each end, for `--placement=nodes` (bench/placement.ts): the client's node runs the
   * client-side proxy (and the load generator), the server's node the server-side proxy and the backends.
   */
  sides: Sides;
  /** Prometheus endpoints of the proxies (the scrape-under-load figure); empty for the peers. */
  metricsUrls: string[];
  stop(): Promise<void>;
}

export interface Scenario {
  name: string;
  /** Why it cannot run here, when it cannot. */
  unavailable?: string;
  start(): Promise<RunningScenario>;
}

export const ECHO_PORT = 7000;
export const IPERF_PORT = 5201;
/** Loopback block of the non-mesh scenarios, away from the 127.100+ blocks the test meshes use. */
const NET = '127.77.0';

/** `node <file>`: compiled JavaScript when running from dist/, the TypeScript source through tsx otherwise. */
export function nodeScript(relative: string): string[] {
  const url = new URL(relative, import.meta.url);
  const file = fileURLToPath(url);
  return file.endsWith('.ts') ? ['--import', 'tsx', file] : [file];
}

export function scriptPath(name: string): string {
  return import.meta.url.endsWith('.ts') ? `./load/${name}.ts` : `./load/${name}.js`;
}

export async function startBackends(host: string, launch: Launch = onHost): Promise<Tool[]> {
  const echo = startTool(...launch(process.execPath, [...nodeScript(scriptPath('server')), host, String(ECHO_PORT)]));
  // --forceflush: iperf3 buffers its banner when stdout is a pipe.
  const iperf = startTool(...launch(binaryOf('iperf3')!, ['-s', '-B', host, '-p', String(IPERF_PORT), '--forceflush']));
  try {
    await Promise.all([echo.waitFor(/listening/), iperf.waitFor(/Server listening/)]);
  } catch (err) {
    await stopAll([echo, iperf]);
    throw err;
  }
  return [echo, iperf];
}

/**
 * Starts the scrape figure's control (bench/load/metrics-stand-in.ts) serving a copy of `metricsUrl`'s
 * current body, so that scraping it costs the scraper what scraping that proxy does.
 */
export async function startMetricsStandIn(metricsUrl: string): Promise<{ url: string; tool: Tool }> {
  const body = Buffer.from(await (await fetch(metricsUrl)).arrayBuffer());
  const dir = await mkdtemp(join(tmpdir(), 'l4mesh-bench-stand-in-'));
  const file = join(dir, 'metrics.txt');
  await writeFile(file, body);
  const tool = startTool(process.execPath, [...nodeScript(scriptPath('metrics-stand-in')), `${NET}.30`, file]);
  try {
    await tool.waitFor(/listening/);
  } catch (err) {
    await tool.stop();
    throw err;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const [, address] = /listening (\S+)/.exec(tool.output())!;
  return { url: `http://${address}/metrics`, tool };
}

export async function stopAll(tools: Tool[]): Promise<void> {
  await Promise.all(tools.map((t) => t.stop()));
}

export const direct: Scenario = {
  name: 'direct',
  async start() {
    const host = `${NET}.10`;
    const backends = await startBackends(host);
    return {
      echo: { host, port: ECHO_PORT },
      iperf: { host, port: IPERF_PORT },
      proxyPids: [],
      sides: { client: [], server: backends.map((b) => b.pid) },
      metricsUrls: [],
      stop: () => stopAll(backends),
    };
  },
};

/**
 * A pair of TLS tunnel proxies in front of backends of its own (`backendIp`), so that the peers can run beside
 * each other and beside direct (bench/compare.ts starts them all at once).
 */
function tunnelScenario(name: string, listenIp: string, tlsIp: string, backendIp: string, pair: (pki: PeerPki, f: Forward[]) => Promise<Tool[]>): Scenario {
  return {
    name,
    async start() {
      const backends = await startBackends(backendIp);
      const pki = await makePeerPki();
      const forwards = [ECHO_PORT, IPERF_PORT].map((port) => ({
        listen: { host: listenIp, port },
        tls: { host: tlsIp, port },
        backend: { host: backendIp, port },
      }));
      let proxies: Tool[];
      try {
        proxies = await pair(pki, forwards);
      } catch (err) {
        await stopAll(backends);
        throw err;
      }
      return {
        echo: { host: listenIp, port: ECHO_PORT },
        iperf: { host: listenIp, port: IPERF_PORT },
        proxyPids: proxies.map((p) => p.pid),
        // Each pair is started as [client side, server side].
        sides: { client: [proxies[0]!.pid], server: [proxies[1]!.pid, ...backends.map((b) => b.pid)] },
        metricsUrls: [],
        stop: () => stopAll([...proxies, ...backends]),
      };
    },
  };
}

export const stunnel = tunnelScenario('stunnel', `${NET}.11`, `${NET}.12`, `${NET}.21`, startStunnelPair);
export const haproxy = tunnelScenario('haproxy', `${NET}.13`, `${NET}.14`, `${NET}.23`, startHaproxyPair);
/** Not a peer: the floor a Node.js proxy starts from (plain node:tls piping), to tell Node's TLS cost from the mesh's. */
export const nodeTls = tunnelScenario('node-tls', `${NET}.15`, `${NET}.16`, `${NET}.25`, startNodeTlsPair);

/** The two-port service `bench` (echo and iperf3) that the mesh scenarios send through. */
export const BENCH_SERVICE_YAML = `apiVersion: v1
kind: Service
metadata:
  name: bench
spec:
  selector:
    app: bench
  ports:
  - name: tcp-echo
    port: ${ECHO_PORT}
  - name: tcp-iperf
    port: ${IPERF_PORT}
---
`;

/** Mesh resources: the `bench` service on a pod of node-2, and a client pod on node-1. */
function meshYaml(mesh: TestMesh): string {
  return `${BENCH_SERVICE_YAML}${podYaml({ name: 'bench-server', ip: mesh.podIp(2), node: 'node-2', labels: { app: 'bench' }, serviceAccount: 'bench-server' })}${podYaml({ name: 'bench-client', ip: mesh.podIp(1), node: 'node-1', labels: { app: 'bench-client' }, serviceAccount: 'bench-client' })}`;
}

interface Mapping {
  workload: string;
  hostname: string;
  servicePort: number;
  listenAddress: string;
  listenPort: number;
}

/** When set, the node proxies run under the V8 CPU profiler into this directory (written at exit). */
export const profile = { dir: undefined as string | undefined };

/** `--hbone-transport` of the ambient scenario's node proxies (A/B runs); undefined: their default. */
export const meshOptions = { hboneTransport: undefined as HboneTransport | undefined };

export const ambient: Scenario = {
  name: 'ambient',
  async start() {
    const saved = process.env.NODE_OPTIONS;
    if (profile.dir) {
      const preload = new URL(import.meta.url.endsWith('.ts') ? './cpu-profile-preload.ts' : './cpu-profile-preload.js', import.meta.url).href;
      process.env.NODE_OPTIONS = `${saved ?? ''} --import ${preload}`.trim();
      process.env.L4MESH_BENCH_CPU_PROFILE_DIR = profile.dir;
    }
    let mesh: TestMesh;
    try {
      const transport = meshOptions.hboneTransport;
      mesh = await startMesh({ nodes: 2, reportingDuration: '5s', extraZtunnelArgs: transport ? ['--hbone-transport', transport] : [] });
    } finally {
      if (saved === undefined) delete process.env.NODE_OPTIONS;
      else process.env.NODE_OPTIONS = saved;
    }
    const backends = await startBackends(mesh.podIp(2)).catch(async (err) => {
      await mesh.stop();
      throw err;
    });
    try {
      await mesh.apply(meshYaml(mesh));
      const listener = async (port: number): Promise<Endpoint> => {
        const m = await eventually(async () => {
          const all = JSON.parse(await mesh.proxyGet(1, 15000, '/capture')) as Mapping[];
          return all.find((x) => x.workload === 'bench-client' && x.servicePort === port);
        }, 15_000, `bench-client's listener for port ${port}`);
        return { host: m.listenAddress, port: m.listenPort };
      };
      const echo = await listener(ECHO_PORT);
      const iperf = await listener(IPERF_PORT);
      // node-2 learns about bench-server through xDS too; wait until a tunnel actually gets through.
      await eventually(async () => (await probe(echo)) || undefined, 15_000, 'a first connection through the mesh');
      return {
        echo,
        iperf,
        proxyPids: mesh.nodes.map((n) => n.proc.proc.pid!),
        // node-1 runs bench-client, node-2 bench-server and its backends.
        sides: { client: [mesh.nodes[0]!.proc.proc.pid!], server: [mesh.nodes[1]!.proc.proc.pid!, ...backends.map((b) => b.pid)] },
        metricsUrls: mesh.nodes.map((n) => `http://${n.address}:15020/metrics`),
        stop: async () => {
          await stopAll(backends);
          await mesh.stop();
        },
      };
    } catch (err) {
      await stopAll(backends);
      await mesh.stop();
      throw err;
    }
  },
};

/** One echo round trip; true when the bytes came back. */
export async function probe(at: Endpoint): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const s = connect(at.port, at.host, () => s.write('ping'));
    const timer = setTimeout(() => done(false), 2_000);
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    };
    s.on('data', () => done(true));
    s.on('error', () => done(false));
    s.on('close', () => done(false));
  });
}

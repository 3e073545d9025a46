// The ambient-netns scenario: `l4mesh up --mode netns --nodes 2` as a user runs it, the echo and iperf3
// backends inside the server pod's network namespace (node-2), the load generator and iperf3's client inside
// the client pod's (node-1), dialling the `bench` service's VIP; the in-pod rules hand every connection to
// the node proxies, which carry it over HBONE pod IP → pod IP:15008 across the fabric's veths and bridge.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { podNetnsName } from '../src/dataplane/capture/netns/topology.js';
import { fetchConfigDump } from '../src/localrun/node-admin.js';
import { isAlive, readProcessTable } from '../src/localrun/processes.js';
import { cliMesh, waitForReadyPods, type CliMesh } from '../test/integration/cli/cli-fixture.js';
import { eventually } from '../test/support/mesh.js';
import { netnsSkipReason } from '../test/support/netns.js';
import { run } from './proc.js';
import { BENCH_SERVICE_YAML, ECHO_PORT, IPERF_PORT, startBackends, stopAll, type Endpoint, type Launch, type Scenario } from './scenarios.js';

/** `up` in netns mode builds namespaces and starts three processes on a loaded 2-core box: minutes, not seconds. */
const UP_TIMEOUT_MS = 180_000;
/** A pod that only sleeps: the harness runs the backends and the load inside its namespace. */
function sleeper(name: string, node: string, app: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  selector: {matchLabels: {app: ${app}}}
  template:
    metadata: {labels: {app: ${app}}}
    spec:
      nodeName: ${node}
      serviceAccountName: ${name}
      containers: [{name: main, image: local/${name}, command: [sleep, '86400']}]
---
`;
}

const MANIFEST = `apiVersion: v1
kind: Namespace
metadata: {name: default, labels: {istio.io/dataplane-mode: ambient}}
---
${BENCH_SERVICE_YAML}${sleeper('bench-server', 'node-2', 'bench')}${sleeper('bench-client', 'node-1', 'bench-client')}`;

/** `ip netns exec <netns> command args...`: the process lives in the pod's network namespace. */
function inNetns(netns: string): Launch {
  return (command, args) => ['ip', ['netns', 'exec', netns, command, ...args]];
}

/** One echo round trip made from inside the client pod; resolves true when the bytes came back. */
async function probeFrom(launch: Launch, at: Endpoint): Promise<boolean> {
  const script = `const s = require('net').connect(${at.port}, '${at.host}', () => s.write('ping'));
    s.setTimeout(2000, () => process.exit(1)); s.on('data', () => process.exit(0)); s.on('error', () => process.exit(1));`;
  return run(...launch(process.execPath, ['-e', script]), 10_000).then(() => true, () => false);
}

async function teardown(mesh: CliMesh, pids: Array<{ pid: number; startTime: string | null }>): Promise<void> {
  await mesh.run(['down'], 120_000).catch(() => undefined);
  for (const r of pids) if (isAlive(r)) process.kill(r.pid, 'SIGKILL');
  await mesh.cleanup();
}

function unavailable(): string | undefined {
  if (process.platform === 'linux' && process.getuid?.() !== 0) return 'not measured: ambient-netns needs root (it creates network namespaces); run the benchmark as root';
  const why = netnsSkipReason({ iptables: true, addon: true });
  return why ? `not measured: ${why}` : undefined;
}

export const ambientNetns: Scenario = {
  name: 'ambient-netns',
  unavailable: unavailable(),
  async start() {
    // Its own namespace prefix and loopback block, so it never meets a test's or a user's mesh.
    const prefix = `l4m-b${randomBytes(3).toString('hex')}`;
    const mesh = await cliMesh();
    const recorded = () => Object.values(readProcessTable(mesh.stateDir));
    const up = await mesh.run(['up', '--mode', 'netns', '--nodes', '2', '--netns-prefix', prefix], UP_TIMEOUT_MS);
    const pids = recorded();
    if (up.code !== 0) {
      await teardown(mesh, pids);
      throw new Error(`l4mesh up --mode netns failed:\n${up.stdout}${up.stderr}`);
    }
    let backends: Awaited<ReturnType<typeof startBackends>> = [];
    try {
      await writeFile(join(mesh.manifestDir, 'bench.yaml'), MANIFEST);
      const applied = await mesh.run(['apply', '-f', join(mesh.manifestDir, 'bench.yaml')]);
      if (applied.code !== 0) throw new Error(`apply failed: ${applied.stdout}${applied.stderr}`);
      const rows = await waitForReadyPods(mesh, 2);
      const pod = (deploy: string) => rows.find((r) => r['NAME']!.startsWith(`${deploy}-`))!;
      const server = pod('bench-server');
      const client = pod('bench-client');
      const serverNetns = inNetns(podNetnsName(prefix, server['NODE']!, 'default', server['NAME']!));
      const launch = inNetns(podNetnsName(prefix, client['NODE']!, 'default', client['NAME']!));
      backends = await startBackends(server['IP']!, serverNetns);
      const node = (k: number) => `127.${mesh.base}.0.${k}`;
      const vip = await eventually(async () => (await fetchConfigDump(node(1))).services.find((s) => s['name'] === 'bench')?.['addresses'] as string[] | undefined, 30_000, 'the bench service\'s VIP on node-1');
      const echo = { host: vip[0]!, port: ECHO_PORT };
      await eventually(async () => (await probeFrom(launch, echo)) || undefined, 30_000, 'a first connection through the in-pod capture');
      // The measured proxies: both node proxies (the control plane is not on the data path).
      const table = readProcessTable(mesh.stateDir);
      const proxies = Object.entries(table).filter(([name]) => name.startsWith('ztunnel-')).map(([, r]) => r.pid);
      const proxyOf = (nodeName: string): number[] => {
        const entry = table[`ztunnel-${nodeName}`];
        return entry ? [entry.pid] : [];
      };
      return {
        echo,
        iperf: { host: vip[0]!, port: IPERF_PORT },
        launch,
        proxyPids: proxies,
        sides: { client: proxyOf(client['NODE']!), server: [...proxyOf(server['NODE']!), ...backends.map((b) => b.pid)] },
        metricsUrls: [1, 2].map((k) => `http://${node(k)}:15020/metrics`),
        stop: async () => {
          await stopAll(backends);
          await teardown(mesh, pids);
        },
      };
    } catch (err) {
      await stopAll(backends);
      await teardown(mesh, pids);
      throw err;
    }
  },
};

// The l4mesh sidecar scenario: `l4mesh sidecar` on the client pod (node-1) and on the server pod
// (node-2); the client sidecar dials the server sidecar's :15006 with mutual TLS and istio-peer-exchange,
// one TLS connection per proxied connection. Node proxies run too (the harness starts them) but carry
// nothing here; the measured proxies are the two sidecars.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../src/config/paths.js';
import { startMesh, eventually, type TestMesh } from '../test/support/mesh.js';
import { pod, SIDECAR_LABEL, startSidecar } from '../test/integration/sidecar/sidecar-mesh.js';
import type { Child } from '../test/support/processes.js';
import { BENCH_SERVICE_YAML, ECHO_PORT, IPERF_PORT, probe, startBackends, stopAll, type Endpoint, type Scenario } from './scenarios.js';

const available = existsSync(join(packageRoot(), 'src', 'cli', 'sidecar.ts')) || existsSync(join(packageRoot(), 'dist', 'src', 'cli', 'sidecar.js'));

function yaml(mesh: TestMesh): string {
  return `${BENCH_SERVICE_YAML}${pod({ name: 'bench-server-abcde', workload: 'bench-server', ip: mesh.podIp(2), node: 2, labels: { app: 'bench', version: 'v1', ...SIDECAR_LABEL }, serviceAccount: 'bench-server' })}${pod({ name: 'bench-client-abcde', workload: 'bench-client', ip: mesh.podIp(1), node: 1, labels: { app: 'bench-client', version: 'v1', ...SIDECAR_LABEL }, serviceAccount: 'bench-client' })}`;
}

export const sidecar: Scenario = {
  name: 'sidecar',
  unavailable: available ? undefined : 'not measured: sidecar not available yet',
  async start() {
    const mesh = await startMesh({ nodes: 2, reportingDuration: '5s' });
    const sidecars: Child[] = [];
    const backends = await startBackends(mesh.podIp(2)).catch(async (err) => {
      await mesh.stop();
      throw err;
    });
    const stop = async (): Promise<void> => {
      await Promise.all(sidecars.map((s) => s.stop()));
      await stopAll(backends);
      await mesh.stop();
    };
    try {
      await mesh.apply(yaml(mesh));
      sidecars.push(await startSidecar(mesh, { name: 'bench-server-abcde', ip: mesh.podIp(2), node: 2, block: 4, extraArgs: ['--tcp-reporting-duration', '5s'] }));
      sidecars.push(await startSidecar(mesh, { name: 'bench-client-abcde', ip: mesh.podIp(1), node: 1, block: 5, extraArgs: ['--tcp-reporting-duration', '5s'] }));
      const listener = async (port: number): Promise<Endpoint> => {
        const m = await eventually(async () => {
          const all = JSON.parse(await (await fetch(`http://${mesh.podIp(1)}:15000/capture`)).text()) as Array<{ workload: string; servicePort: number; listenAddress: string; listenPort: number }>;
          return all.find((x) => x.workload === 'bench-client-abcde' && x.servicePort === port);
        }, 15_000, `the client sidecar's listener for port ${port}`);
        return { host: m.listenAddress, port: m.listenPort };
      };
      const echo = await listener(ECHO_PORT);
      const iperf = await listener(IPERF_PORT);
      await eventually(async () => (await probe(echo)) || undefined, 15_000, 'a first connection through the sidecars');
      return {
        echo,
        iperf,
        proxyPids: sidecars.map((s) => s.proc.pid!),
        // sidecars[0] is bench-server's, sidecars[1] bench-client's.
        sides: { client: [sidecars[1]!.proc.pid!], server: [sidecars[0]!.proc.pid!, ...backends.map((b) => b.pid)] },
        metricsUrls: [mesh.podIp(1), mesh.podIp(2)].map((ip) => `http://${ip}:15020/metrics`),
        stop,
      };
    } catch (err) {
      await stop();
      throw err;
    }
  },
};

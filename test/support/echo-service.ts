// A Service `echo` backed by named echo servers on pod IPs, and a client pod whose outbound listener
// for it is returned: the usual starting point of a data-path integration test.
import type { TestMesh } from './mesh.js';
import { eventually, podYaml } from './mesh.js';
import { startNamedEcho, type TestServer } from './workloads.js';

export interface EchoDeployment {
  servers: TestServer[];
  /** The client's outbound listener for echo:port. */
  listen: { address: string; port: number };
  close(): Promise<void>;
}

export interface EchoOptions {
  /** `serve: false` when the test runs its own server on that IP and port. */
  endpoints: Array<{ name: string; node: number; ip: string; serve?: boolean }>;
  client: { name: string; node: number; ip: string; serviceAccount?: string };
  port?: number;
  extraYaml?: string;
}

export async function deployEcho(mesh: TestMesh, options: EchoOptions): Promise<EchoDeployment> {
  const port = options.port ?? 7000;
  const servers: TestServer[] = [];
  for (const e of options.endpoints) if (e.serve !== false) servers.push(await startNamedEcho(e.ip, port, e.name));
  let yaml = `apiVersion: v1
kind: Service
metadata:
  name: echo
spec:
  selector:
    app: echo
  ports:
  - name: tcp-echo
    port: ${port}
---
`;
  for (const e of options.endpoints) {
    yaml += podYaml({ name: e.name, ip: e.ip, node: `node-${e.node}`, labels: { app: 'echo', version: 'v1' }, serviceAccount: 'echo' });
  }
  const c = options.client;
  yaml += podYaml({ name: c.name, ip: c.ip, node: `node-${c.node}`, labels: { app: c.name }, serviceAccount: c.serviceAccount ?? c.name });
  await mesh.apply(yaml + (options.extraYaml ?? ''));
  const mapping = await eventually(async () => {
    const all = JSON.parse(await mesh.proxyGet(c.node, 15000, '/capture')) as Array<{ workload: string; hostname: string; listenAddress: string; listenPort: number }>;
    return all.find((m) => m.workload === c.name && m.hostname === 'echo.default.svc.cluster.local');
  }, 15_000, `the outbound listener of ${c.name}`);
  const nodes = new Set([c.node, ...options.endpoints.map((e) => e.node)]);
  for (const k of nodes) {
    await eventually(async () => (await fetch(`http://127.${mesh.base}.0.${k}:15021/healthz/ready`)).status === 200, 15_000, `node-${k} ready`);
  }
  return {
    servers,
    listen: { address: mapping.listenAddress, port: mapping.listenPort },
    close: async () => {
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}

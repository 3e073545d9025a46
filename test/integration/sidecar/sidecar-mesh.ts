// Shared setup of the sidecar integration tests: sidecar pods (labelled sidecar.istio.io/inject "true"),
// `l4mesh sidecar` processes on their pod IPs, and readers for a proxy's /metrics and /capture.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CaClient } from '../../../src/identity/ca-client.js';
import type { WorkloadCertificate } from '../../../src/identity/workload-certificate.js';
import { eventually, podYaml, PROCESS_START_TIMEOUT_MS, type TestMesh } from '../../support/mesh.js';
import { startCli, type Child } from '../../support/processes.js';
import { parsePrometheusText, type Sample } from '../../support/prometheus-text.js';

export const ECHO_PORT = 7000;
export const SIDECAR_LABEL = { 'sidecar.istio.io/inject': 'true' };

/** A Pod as the local runtime records it, owned by Deployment `workload` (through its ReplicaSet). */
export function pod(p: { name: string; workload: string; ip: string; node: number; labels: Record<string, string>; serviceAccount: string }): string {
  return podYaml({ name: p.name, ip: p.ip, node: `node-${p.node}`, labels: p.labels, serviceAccount: p.serviceAccount, owner: p.workload });
}

export function service(name: string, app: string, port = ECHO_PORT, targetPort = port): string {
  return `apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: default
spec:
  selector:
    app: ${app}
  ports:
  - name: tcp-${name}
    port: ${port}
    targetPort: ${targetPort}
---
`;
}

/**
 * `l4mesh sidecar` for pod `name` at `ip` on node-`node`; its outbound listeners get 127.<b>.<block>.0/24
 * (blocks 4..31 of the test's /16 are free in the mesh layout). Resolves once :15021 says ready.
 */
export async function startSidecar(mesh: TestMesh, p: { name: string; ip: string; node: number; block: number; extraArgs?: string[] }): Promise<Child> {
  const proc = startCli([
    'sidecar',
    '--workload',
    `default/${p.name}`,
    '--address',
    p.ip,
    '--node',
    `node-${p.node}`,
    '--control-plane',
    `${mesh.controlPlaneAddress}:15012`,
    '--state-dir',
    mesh.stateDir,
    '--capture-range',
    `127.${mesh.base}.${p.block}.0/24`,
    '--tcp-reporting-duration',
    '1s',
    '--drain-duration',
    '1s',
    ...(p.extraArgs ?? []),
  ]);
  try {
    await proc.waitFor(/sidecar started/, PROCESS_START_TIMEOUT_MS);
    await eventually(async () => (await fetch(`http://${p.ip}:15021/healthz/ready`)).status === 200, PROCESS_START_TIMEOUT_MS, `sidecar ${p.name} ready`);
  } catch (err) {
    await proc.stop();
    throw new Error(`${(err as Error).message}\n${proc.output()}`);
  }
  return proc;
}

export async function scrapeAt(ip: string): Promise<Sample[]> {
  return parsePrometheusText(await (await fetch(`http://${ip}:15020/metrics`)).text());
}

/** The outbound listener `workload` got for `hostname` from the proxy whose admin is at `adminIp`. */
export async function outboundListener(adminIp: string, workload: string, hostname: string): Promise<{ address: string; port: number }> {
  const m = await eventually(async () => {
    const all = JSON.parse(await (await fetch(`http://${adminIp}:15000/capture`)).text()) as Array<{ workload: string; hostname: string; listenAddress: string; listenPort: number }>;
    return all.find((x) => x.workload === workload && x.hostname === hostname);
  }, 15_000, `the outbound listener of ${workload} for ${hostname}`);
  return { address: m.listenAddress, port: m.listenPort };
}

/** A mesh certificate for `identity` (a workload on `node`), obtained from the CA with that node's token. */
export async function meshCertificate(mesh: TestMesh, node: number, identity: string): Promise<WorkloadCertificate> {
  const token = (await readFile(join(mesh.stateDir, 'tokens', `node-${node}.token`), 'utf8')).trim();
  const rootCertPem = await readFile(join(mesh.stateDir, 'ca', 'root-cert.pem'), 'utf8');
  const client = new CaClient({ address: `${mesh.controlPlaneAddress}:15012`, rootCertPem, token, serverName: 'istiod.istio-system.svc' });
  try {
    return await eventually(() => client.requestCertificate(identity).catch(() => undefined), 15_000, `a certificate for ${identity}`);
  } finally {
    client.close();
  }
}

/** Labels of a sample as an object, for compact assertions. */
export function labelObject(s: Sample): Record<string, string> {
  return Object.fromEntries(s.labels);
}

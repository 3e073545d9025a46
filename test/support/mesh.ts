// A whole mesh for integration tests: a control plane and N node proxies as real processes, each test
// on its own 127.<b>.0.0/16 so test files can run side by side. Layout inside that /16:
//   127.b.0.254 control plane · 127.b.0.k node-k · 127.b.1.x pods · 127.b.3.0/24 VIPs · 127.b.(32k).0/19 capture of node-k
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeTokenStore } from '../../src/controlplane/ca/node-tokens.js';
import { startCli, type Child } from './processes.js';

export interface MeshNode {
  name: string;
  address: string;
  proc: Child;
}

export interface TestMesh {
  base: number;
  stateDir: string;
  controlPlaneAddress: string;
  adminToken: string;
  controlPlane: Child;
  nodes: MeshNode[];
  podIp(i: number): string;
  apply(yaml: string): Promise<unknown>;
  deleteResource(path: string): Promise<number>;
  api(path: string, init?: RequestInit): Promise<Response>;
  /** GET on node proxy `node` (1-based) at `port` (15000 admin, 15020 metrics, 15021 readiness). */
  proxyGet(node: number, port: number, path: string): Promise<string>;
  startNode(k: number): Promise<MeshNode>;
  startControlPlane(): Promise<Child>;
  stop(): Promise<void>;
}

/** Start-up of a control plane or proxy takes ~6 s on a loaded 2-core box; a deadline far above that. */
export const PROCESS_START_TIMEOUT_MS = 60_000;

async function addressFree(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, ip, () => s.close(() => resolve(true)));
  });
}

/** Held for a mesh's lifetime on 127.b.0.253 (no part of the layout): the kernel makes the claim atomic. */
const BLOCK_CLAIM_PORT = 15999;

/** A listener on `ip:port` that stays open, or undefined when something already holds that address. */
async function holdAddress(ip: string, port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(undefined));
    s.listen(port, ip, () => resolve(s));
  });
}

/**
 * Picks /16 blocks among 127.first … 127.(first + count − 1), from `start` on, each one no other test mesh
 * holds, with its claim (close it when the mesh stops). Test files run side by side and each takes several
 * blocks in turn, and two of them could once probe the same free block and both start in it (CI: EADDRINUSE
 * on 127.217.0.254:15012 and 127.217.0.1:15008).
 */
export function blockPicker(first: number, count: number, start: number, what: string): () => Promise<{ base: number; claim: Server }> {
  let next = start;
  return async () => {
    for (let i = 0; i < count; i++) {
      const b = first + ((next++ - first) % count);
      const claim = await holdAddress(`127.${b}.0.253`, BLOCK_CLAIM_PORT);
      if (!claim) continue;
      // Something that is not a test mesh (a leftover control plane) may still sit in the block.
      if (await addressFree(`127.${b}.0.254`, 15014)) return { base: b, claim };
      await new Promise<void>((r) => claim.close(() => r()));
    }
    throw new Error(`no free 127.<b>.0.0/16 block for the ${what}`);
  };
}

/** 127.100–127.249: the CLI tests' blocks lie below (test/integration/cli/cli-fixture.ts). */
const pickBase = blockPicker(100, 150, 100 + (process.pid % 50) * 3, 'test mesh');

/** Polls `check` every 50 ms until it returns a truthy value; bounded by `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (let i = 0; Date.now() < deadline && i < 100_000; i++) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

export async function startMesh(options: { nodes?: number; reportingDuration?: string; extraZtunnelArgs?: string[] } = {}): Promise<TestMesh> {
  const nodeCount = options.nodes ?? 2;
  const { base, claim } = await pickBase();
  const stateDir = await mkdtemp(join(tmpdir(), 'l4mesh-test-'));
  const cpIp = `127.${base}.0.254`;
  const tokens = await NodeTokenStore.open(stateDir);
  await mkdir(join(stateDir, 'tokens'), { recursive: true });
  for (let k = 1; k <= nodeCount; k++) await writeFile(join(stateDir, 'tokens', `node-${k}.token`), (await tokens.create(`node-${k}`)) + '\n');

  const mesh: TestMesh = {
    base,
    stateDir,
    controlPlaneAddress: cpIp,
    adminToken: '',
    controlPlane: undefined as unknown as Child,
    nodes: [],
    podIp: (i) => `127.${base}.1.${i}`,
    async api(path, init) {
      return fetch(`http://${cpIp}:15014${path}`, {
        ...init,
        headers: { authorization: `Bearer ${mesh.adminToken}`, ...(init?.headers ?? {}) },
      });
    },
    async apply(yaml) {
      const res = await mesh.api('/apply', { method: 'POST', body: yaml });
      const body = await res.json();
      if (res.status !== 200) throw new Error(`apply failed (${res.status}): ${JSON.stringify(body)}`);
      return body;
    },
    async deleteResource(path) {
      return (await mesh.api(path, { method: 'DELETE' })).status;
    },
    async proxyGet(node, port, path) {
      const res = await fetch(`http://127.${base}.0.${node}:${port}${path}`);
      return res.text();
    },
    async startControlPlane() {
      const cp = startCli(['control-plane', '--state-dir', stateDir, '--address', cpIp, '--vip-range', `127.${base}.3.0/24`]);
      // Recorded before the wait, so stop() kills it when it never gets ready.
      mesh.controlPlane = cp;
      await cp.waitFor(/control plane ready/, PROCESS_START_TIMEOUT_MS);
      return cp;
    },
    async startNode(k) {
      const address = `127.${base}.0.${k}`;
      const proc = startCli([
        'ztunnel',
        '--node',
        `node-${k}`,
        '--address',
        address,
        '--control-plane',
        `${cpIp}:15012`,
        '--state-dir',
        stateDir,
        '--capture-range',
        `127.${base}.${32 * k}.0/19`,
        '--tcp-reporting-duration',
        options.reportingDuration ?? '15s',
        '--drain-duration',
        '2s',
        ...(options.extraZtunnelArgs ?? []),
      ]);
      const node = { name: `node-${k}`, address, proc };
      // Recorded before the wait, so stop() kills it when it never starts.
      mesh.nodes[k - 1] = node;
      await proc.waitFor(/node proxy started/, PROCESS_START_TIMEOUT_MS);
      return node;
    },
    async stop() {
      await Promise.all([...mesh.nodes.filter(Boolean).map((n) => n.proc.stop()), mesh.controlPlane?.stop()]);
      await rm(stateDir, { recursive: true, force: true });
      if (claim.listening) await new Promise<void>((r) => claim.close(() => r()));
    },
  };
  try {
    await mesh.startControlPlane();
    const { readFile } = await import('node:fs/promises');
    mesh.adminToken = (await readFile(join(stateDir, 'admin.token'), 'utf8')).trim();
    for (let k = 1; k <= nodeCount; k++) await mesh.startNode(k);
    for (let k = 1; k <= nodeCount; k++) {
      await eventually(async () => (await fetch(`http://127.${base}.0.${k}:15021/healthz/ready`)).status === 200, PROCESS_START_TIMEOUT_MS, `node-${k} ready`);
    }
  } catch (err) {
    await mesh.stop();
    throw err;
  }
  return mesh;
}

/**
 * A pod as the local runtime would record it: Running and Ready on `node` at `ip`. With `owner`, it is owned
 * by ReplicaSet `<owner>-5c8f6d9b7`, so its workload name is the Deployment `<owner>`.
 */
export function podYaml(p: { name: string; namespace?: string; ip: string; node: string; labels: Record<string, string>; serviceAccount?: string; owner?: string }): string {
  const labels = Object.entries(p.labels)
    .map(([k, v]) => `    ${k}: "${v}"`)
    .join('\n');
  const owner = p.owner ? `\n  ownerReferences:\n  - apiVersion: apps/v1\n    kind: ReplicaSet\n    name: ${p.owner}-5c8f6d9b7` : '';
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${p.name}
  namespace: ${p.namespace ?? 'default'}
  labels:
${labels}${owner}
spec:
  nodeName: ${p.node}
  serviceAccountName: ${p.serviceAccount ?? 'default'}
  containers:
  - name: app
    image: local
status:
  phase: Running
  podIP: ${p.ip}
  conditions:
  - type: Ready
    status: "True"
---
`;
}

// Issue 2's scale benchmark (not a test): an in-process control plane holding 10,000 pods behind 1,000
// services. Measures (a) the full push to a newly connected proxy — time until its XdsClient has synced,
// and the bytes it received — and (b) how long one change (a pod removed, then added back) takes to
// reach 10 connected proxies. `node dist/bench/controlplane-scale.js [--quick] [--store=file|etcd] [--json FILE]`:
// `--store=etcd` runs the same on a one-member etcd (Debian's etcd-server) started for the run.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { startControlPlane } from '../src/controlplane/server.js';
import { XdsClient, type XdsUpdate } from '../src/dataplane/xds/client.js';
import { deltaAdsMethod } from '../src/proto/ads-service.js';
import { Logger } from '../src/logging/logger.js';
import type { Resource } from '../src/api/types.js';
import { startEtcd, type EtcdCluster } from '../test/support/etcd.js';

const FULL = { services: 1_000, podsPerService: 10, proxies: 10, changes: 5 };
const QUICK = { services: 100, podsPerService: 10, proxies: 10, changes: 3 };
/** Nodes the pods are spread over; the proxies subscribe as these nodes. */
const NODES = 10;
/** Resources per store write: big batches, as an `apply -f` of a large manifest would be. */
const APPLY_BATCH = 1_000;
/** The control plane's serving certificate names this host; the bench dials it by IP. */
const SERVER_NAME = { 'grpc.ssl_target_name_override': 'istiod.istio-system.svc', 'grpc.default_authority': 'istiod.istio-system.svc' };
const ADDRESS = '127.78.0.1';
const WAIT_LIMIT_MS = 300_000;
/** The etcd member of `--store=etcd`: its own address and ports, away from the control plane's. */
const ETCD_ADDRESS = '127.78.0.2';
const ETCD_BASE_PORT = 23790;
/**
 * A batch of APPLY_BATCH resources is one etcd transaction (all or nothing) of that many compares and puts,
 * past etcd's defaults of 128 operations and 1.5 MiB per request: the member gets room for it.
 */
const ETCD_FLAGS = ['--max-txn-ops', String(APPLY_BATCH), '--max-request-bytes', String(16 * 1024 * 1024)];

/** Bytes of every Delta response decoded in this process (the xDS clients all run here). */
let receivedBytes = 0;
const decode = deltaAdsMethod.responseDeserialize;
deltaAdsMethod.responseDeserialize = (bytes: Buffer) => {
  receivedBytes += bytes.length;
  return decode(bytes);
};

function service(i: number): Resource {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `svc-${i}`, namespace: 'default' },
    spec: { selector: { app: `app-${i}` }, ports: [{ name: 'http', port: 8080 }, { name: 'tcp-grpc', port: 9090 }] },
  };
}

function pod(i: number, j: number, podsPerService: number): Resource {
  const n = i * podsPerService + j;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `app-${i}-${j}`, namespace: 'default', labels: { app: `app-${i}`, version: 'v1' } },
    spec: { nodeName: `node-${(n % NODES) + 1}`, serviceAccountName: `sa-${i}`, containers: [{ name: 'app', image: 'local' }] },
    status: { phase: 'Running', podIP: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`, conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

function waitFor<T>(what: string, check: () => T | undefined, subscribe: (wake: () => void) => () => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out after ${WAIT_LIMIT_MS} ms waiting for ${what}`));
    }, WAIT_LIMIT_MS);
    const wake = (): void => {
      const v = check();
      if (v !== undefined) {
        clearTimeout(timer);
        off();
        resolve(v);
      }
    };
    const off = subscribe(wake);
    wake();
  });
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const jsonAt = process.argv.indexOf('--json');
  const plan = quick ? QUICK : FULL;
  const storeArg = process.argv.find((a) => a.startsWith('--store='))?.slice('--store='.length) ?? 'file';
  if (storeArg !== 'file' && storeArg !== 'etcd') throw new Error(`--store=${storeArg}: use file or etcd`);
  const stateDir = await mkdtemp(join(tmpdir(), 'l4mesh-cp-scale-'));
  const etcd: EtcdCluster | undefined = storeArg === 'etcd' ? await startEtcd(ETCD_ADDRESS, ETCD_BASE_PORT, 1, ETCD_FLAGS) : undefined;
  console.log(`store: ${storeArg}${etcd ? ` (${etcd.endpoints})` : ''}`);
  const cp = await startControlPlane(
    {
      stateDir,
      address: ADDRESS,
      grpcPort: 0,
      httpPort: 0,
      trustDomain: 'cluster.local',
      clusterId: 'Kubernetes',
      vipRange: '127.79.0.0/16',
      ...(etcd ? { store: 'etcd' as const, etcdEndpoints: etcd.endpoints.split(',') } : {}),
    },
    new Logger('control-plane', 'warn'),
  );
  const clients: XdsClient[] = [];
  try {
    const resources: Resource[] = [];
    for (let i = 0; i < plan.services; i++) {
      resources.push(service(i));
      for (let j = 0; j < plan.podsPerService; j++) resources.push(pod(i, j, plan.podsPerService));
    }
    const loadStarted = performance.now();
    for (let k = 0; k < resources.length; k += APPLY_BATCH) await cp.store.apply(resources.slice(k, k + APPLY_BATCH));
    const loadMs = performance.now() - loadStarted;
    const pods = plan.services * plan.podsPerService;
    console.log(`loaded ${plan.services} services and ${pods} pods in ${loadMs.toFixed(0)} ms`);

    const tokens = new Map<string, string>();
    for (let k = 0; k <= NODES; k++) tokens.set(`node-${k}`, await cp.tokens.create(`node-${k}`));
    const connect = (node: string): XdsClient => {
      const c = new XdsClient({
        address: `${ADDRESS}:${cp.grpcPort}`,
        credentials: grpc.credentials.createSsl(Buffer.from(cp.rootCertPem)),
        channelOptions: { ...SERVER_NAME, 'grpc.max_receive_message_length': 256 * 1024 * 1024 },
        nodeId: `ztunnel~127.78.1.${node.slice(5)}~ztunnel-${node}.istio-system~istio-system.svc.cluster.local`,
        metadata: { authorization: `Bearer ${tokens.get(node)}` },
      });
      clients.push(c);
      return c;
    };
    const expected = pods; // every pod is an Address resource for every node proxy (ambient: no filtering)
    const fullyKnown = (c: XdsClient): boolean => c.hasSynced() && c.snapshot().workloads.size >= expected && c.snapshot().services.size >= plan.services;
    const untilKnown = (c: XdsClient): Promise<true> =>
      waitFor('a full snapshot', () => (fullyKnown(c) ? true : undefined), (wake) => {
        c.on('update', wake);
        return () => c.off('update', wake);
      });

    // (a) A new proxy's full push, three times (a cold one first).
    const pushes: Array<{ syncedMs: number; completeMs: number; bytes: number }> = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      const c = connect('node-0');
      const bytesBefore = receivedBytes;
      const started = performance.now();
      let syncedMs = 0;
      c.once('update', () => (syncedMs = performance.now() - started));
      c.start();
      await untilKnown(c);
      const completeMs = performance.now() - started;
      pushes.push({ syncedMs: syncedMs, completeMs, bytes: receivedBytes - bytesBefore });
      c.stop();
      clients.splice(clients.indexOf(c), 1);
      console.log(`full push ${attempt + 1}: first response after ${syncedMs.toFixed(0)} ms, all ${expected} workloads after ${completeMs.toFixed(0)} ms, ${(pushes.at(-1)!.bytes / 1024 / 1024).toFixed(2)} MiB`);
    }

    // (b) One change reaching 10 connected proxies.
    const connected = Array.from({ length: plan.proxies }, (_, k) => connect(`node-${(k % NODES) + 1}`));
    for (const c of connected) c.start();
    await Promise.all(connected.map(untilKnown));
    const changes: Array<{ kind: 'removed' | 'added'; allMs: number; firstMs: number }> = [];
    for (let n = 0; n < plan.changes; n++) {
      const victim = pod(n, 0, plan.podsPerService);
      const name = `Kubernetes//Pod/default/${victim.metadata.name}`;
      for (const kind of ['removed', 'added'] as const) {
        const seen = new Map<XdsClient, number>();
        const started = performance.now();
        const listeners = connected.map((c) => {
          const l = (u: XdsUpdate): void => {
            const hit = kind === 'removed' ? u.changed.removed.includes(name) : u.changed.workloads.includes(name);
            if (hit && !seen.has(c)) seen.set(c, performance.now() - started);
          };
          c.on('update', l);
          return [c, l] as const;
        });
        if (kind === 'removed') await cp.store.delete('Pod', 'default', victim.metadata.name);
        else await cp.store.apply([victim]);
        await waitFor(`the change to reach ${connected.length} proxies`, () => (seen.size === connected.length ? true : undefined), (wake) => {
          for (const c of connected) c.on('update', wake);
          return () => connected.forEach((c) => c.off('update', wake));
        });
        for (const [c, l] of listeners) c.off('update', l);
        const times = [...seen.values()];
        changes.push({ kind, allMs: Math.max(...times), firstMs: Math.min(...times) });
        console.log(`pod ${victim.metadata.name} ${kind}: first proxy after ${Math.min(...times).toFixed(1)} ms, all ${connected.length} after ${Math.max(...times).toFixed(1)} ms`);
      }
    }
    const summary = {
      store: storeArg,
      services: plan.services,
      pods,
      proxies: plan.proxies,
      loadMs,
      fullPush: pushes,
      change: { medianAllMs: median(changes.map((c) => c.allMs)), maxAllMs: Math.max(...changes.map((c) => c.allMs)), samples: changes },
    };
    console.log(`summary: ${JSON.stringify({ fullPushMs: pushes.map((p) => Math.round(p.completeMs)), fullPushMiB: +(pushes[0]!.bytes / 2 ** 20).toFixed(2), changeToAllMedianMs: +summary.change.medianAllMs.toFixed(1), changeToAllMaxMs: +summary.change.maxAllMs.toFixed(1) })}`);
    if (jsonAt > 0) await writeFile(process.argv[jsonAt + 1]!, JSON.stringify(summary, null, 2) + '\n');
  } finally {
    for (const c of clients) c.stop();
    await cp.close();
    await etcd?.stop();
    await rm(stateDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`controlplane-scale: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);

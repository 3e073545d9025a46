// Control-plane replicas on one etcd for a test: per-test loopback addresses, state dirs in temp dirs,
// every process killed and every directory removed at the end.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import type { TestContext } from 'node:test';
import { cliCommand, startCli, stateDirFor, type Child } from './processes.js';
import { PROCESS_START_TIMEOUT_MS } from './mesh.js';
import { startEtcd, type EtcdCluster } from './etcd.js';
import { XdsClient } from '../../src/dataplane/xds/client.js';

export const CONTROL_PLANE_SERVER_NAME_OPTIONS = { 'grpc.ssl_target_name_override': 'istiod.istio-system.svc', 'grpc.default_authority': 'istiod.istio-system.svc' };

export interface ReplicaSet {
  etcd: EtcdCluster;
  addresses: string[];
  dirs: string[];
  procs: Child[];
  adminToken: string;
  rootPem: string;
  /** `--vip-range` every replica was started with. */
  vipRange: string;
  api(i: number, path: string, init?: RequestInit): Promise<Response>;
  /** Starts replica `i` again (same state dir and address) after it was killed. */
  restart(i: number): Promise<Child>;
  /** A node token created in etcd through the CLI, as an operator would. */
  createNodeToken(node: string): string;
  /** A ztunnel-shaped xDS client of `node-<k>`, started, stopped at the end of the test. */
  xdsClient(t: TestContext, node: string, ip: string, token: string, address: string): XdsClient;
}

/**
 * etcd (`etcdMembers` members on `<prefix>.1`, ports from `etcdPort`) and one replica per address in
 * `<prefix>.10`, `<prefix>.11`, ...: started one after the other so the first stores the shared CA.
 */
export async function startReplicas(t: TestContext, opts: { prefix: string; etcdPort: number; replicas?: number; etcdMembers?: number; vipRange: string }): Promise<ReplicaSet> {
  const etcd = await startEtcd(`${opts.prefix}.1`, opts.etcdPort, opts.etcdMembers ?? 1);
  t.after(() => etcd.stop());
  const addresses = Array.from({ length: opts.replicas ?? 2 }, (_, i) => `${opts.prefix}.${10 + i}`);
  // Each replica's directory is removed only after every control plane started in it was killed.
  const states = await Promise.all(addresses.map(() => stateDirFor(t, 'l4mesh-replica-')));
  const dirs = states.map((s) => s.dir);
  const launch = async (i: number): Promise<Child> => {
    const cp = states[i]!.own(startCli(['control-plane', '--state-dir', dirs[i]!, '--address', addresses[i]!, '--vip-range', opts.vipRange, '--store', 'etcd', '--etcd-endpoints', etcd.endpoints]));
    await cp.waitFor(/control plane ready/, PROCESS_START_TIMEOUT_MS);
    return cp;
  };
  const procs: Child[] = [];
  for (let i = 0; i < addresses.length; i++) procs.push(await launch(i));
  const adminToken = (await readFile(join(dirs[0]!, 'admin.token'), 'utf8')).trim();
  const rootPem = await readFile(join(dirs[0]!, 'ca', 'root-cert.pem'), 'utf8');
  const set: ReplicaSet = {
    etcd,
    addresses,
    dirs,
    procs,
    adminToken,
    rootPem,
    vipRange: opts.vipRange,
    api: (i, path, init = {}) => fetch(`http://${addresses[i]}:15014${path}`, { ...init, headers: { authorization: `Bearer ${adminToken}`, ...(init.headers ?? {}) } }),
    async restart(i) {
      procs[i] = await launch(i);
      return procs[i]!;
    },
    createNodeToken(node) {
      const { command, args } = cliCommand(['control-plane', 'token', 'create', '--node', node, '--store', 'etcd', '--etcd-endpoints', etcd.endpoints]);
      const r = spawnSync(command, args, { encoding: 'utf8', timeout: 60_000 });
      if (r.status !== 0) throw new Error(`token create failed (${r.status}): ${r.stderr}`);
      return r.stdout.trim();
    },
    xdsClient(tc, node, ip, token, address) {
      const xds = new XdsClient({
        address,
        credentials: grpc.credentials.createSsl(Buffer.from(rootPem)),
        channelOptions: CONTROL_PLANE_SERVER_NAME_OPTIONS,
        nodeId: `ztunnel~${ip}~ztunnel-${node}.istio-system~istio-system.svc.cluster.local`,
        metadata: { authorization: `Bearer ${token}` },
        backoff: { initialMs: 10, maxMs: 200 },
      });
      xds.start();
      tc.after(() => xds.stop());
      return xds;
    },
  };
  return set;
}

/** `/debug/registryz` of replica `i`: its VIP allocations and services. */
export async function registryz(set: ReplicaSet, i: number): Promise<{ vips: Record<string, string>; services: Array<{ name: string; namespace: string; hostname: string; addresses: string[] }> }> {
  return (await (await fetch(`http://${set.addresses[i]}:15014/debug/registryz`)).json()) as Awaited<ReturnType<typeof registryz>>;
}

/** `/debug/replicaz` of replica `i`. */
export async function replicaz(set: ReplicaSet, i: number): Promise<{ identity: string; leader: boolean; proxies: Array<{ proxy: string; replica: string }> }> {
  return (await (await fetch(`http://${set.addresses[i]}:15014/debug/replicaz`)).json()) as Awaited<ReturnType<typeof replicaz>>;
}

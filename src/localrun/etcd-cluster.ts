// What `l4mesh up --ha` needs around its etcd members: etcd installed (Debian's etcd-server), the
// cluster answering before the control planes start, and the node tokens stored in it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { L4meshError } from '../errors/index.js';
import { nodeTokenFile, tokensDir } from '../config/state-layout.js';
import { ETCD_CLIENT_PORT } from '../config/mesh-constants.js';
import { createEtcdNodeToken } from '../controlplane/ca/etcd-node-tokens.js';
import { connectEtcd } from '../controlplane/store/etcd-connection.js';
import { etcdEndpoints, nodeName, type HaLayout } from './layout.js';

/** A 3-member cluster elects a leader within seconds; a loaded laptop may need many more. */
export const ETCD_HEALTHY_TIMEOUT_MS = 60_000;
/** How often `/health` is asked while the cluster forms. */
const HEALTH_POLL_MS = 250;
/** The Debian package that carries the etcd server binary. */
export const ETCD_PACKAGE = 'etcd-server';

function etcdOnPath(): boolean {
  return spawnSync('sh', ['-c', 'command -v etcd'], { stdio: 'ignore' }).status === 0;
}

/** Installs etcd-server with apt-get when `etcd` is missing (root only); says what to run otherwise. */
export function ensureEtcdInstalled(log: (line: string) => void): void {
  if (etcdOnPath()) return;
  const root = process.getuid?.() === 0;
  if (!root || !existsSync('/usr/bin/apt-get')) {
    throw new L4meshError('L4MESH_ERR_CONFIG', `--ha needs etcd, which is not installed: run "sudo apt-get install -y ${ETCD_PACKAGE}" (or put an etcd binary on PATH) and "l4mesh up --ha" again`);
  }
  log(`etcd is not installed; installing ${ETCD_PACKAGE} with apt-get ...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args: string[]) => spawnSync('apt-get', args, { stdio: 'inherit', env }).status === 0;
  if (!(run(['install', '-y', '--no-install-recommends', ETCD_PACKAGE]) || (run(['update']) && run(['install', '-y', '--no-install-recommends', ETCD_PACKAGE]))) || !etcdOnPath()) {
    throw new L4meshError('L4MESH_ERR_CONFIG', `installing ${ETCD_PACKAGE} with apt-get failed (output above); install it by hand and run "l4mesh up --ha" again`);
  }
}

/** Resolves once every member answers `/health` with health true (the cluster has a leader). */
export async function waitEtcdHealthy(ha: HaLayout): Promise<void> {
  const deadline = Date.now() + ETCD_HEALTHY_TIMEOUT_MS;
  for (const m of ha.etcd) {
    for (;;) {
      try {
        const res = await fetch(`http://${m.address}:${ETCD_CLIENT_PORT}/health`, { signal: AbortSignal.timeout(2_000) });
        if (res.status === 200 && ((await res.json()) as { health?: string }).health === 'true') break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        throw new L4meshError('L4MESH_ERR_STORE_UNAVAILABLE', `etcd member ${m.name} at ${m.address}:${ETCD_CLIENT_PORT} was not healthy within ${ETCD_HEALTHY_TIMEOUT_MS} ms; see its log in the state dir's logs/`);
      }
      await new Promise((r) => setTimeout(r, HEALTH_POLL_MS));
    }
  }
}

/** Node tokens for node-1..node-N created in etcd (valid at every replica) and written where proxies read them. */
export async function ensureEtcdTokens(stateDir: string, nodes: number, ha: HaLayout): Promise<void> {
  await mkdir(tokensDir(stateDir), { recursive: true });
  const endpoints = etcdEndpoints(ha).split(',');
  const client = connectEtcd(endpoints);
  try {
    for (let k = 1; k <= nodes; k++) {
      const file = nodeTokenFile(stateDir, nodeName(k));
      if (existsSync(file)) continue;
      await writeFile(file, (await createEtcdNodeToken(client, endpoints, nodeName(k))) + '\n', { mode: 0o600 });
    }
  } finally {
    client.close();
  }
}

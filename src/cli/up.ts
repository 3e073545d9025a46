// `l4mesh up`: starts the local mesh in the background (control plane, node proxies, runtime); idempotent.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createStateDir, DEFAULT_STATE_DIR_TEXT } from '../config/paths.js';
import { HBONE_PORT, NETNS_VIP_RANGE, PROXY_ADMIN_PORT, PROXY_METRICS_PORT, PROXY_READINESS_PORT } from '../config/mesh-constants.js';
import { layoutFile, logsDir, nodeTokenFile, tokensDir } from '../config/state-layout.js';
import { NodeTokenStore } from '../controlplane/ca/node-tokens.js';
import { ETCD_MEMBER_PREFIX, meshComponents, spawnComponent, type Component } from '../localrun/components.js';
import { DEFAULT_MESH_MODE, DEFAULT_NODES, ENV_LOCAL_NET, ENV_STATE_DIR, makeLayout, makeNetnsLayout, parseLocalNet, readLayout, resolveStateDir, writeLayout, controlPlaneUrl, nodeAddress, etcdEndpoints } from '../localrun/layout.js';
import { buildNetnsNetwork, meshTopology, netnsNetworkExists, prepareNetnsHost } from '../localrun/netns-network.js';
import { FABRIC_CONTROL_PLANE_IP, NETNS_PREFIX } from '../dataplane/capture/netns/plan.js';
import { ensureEtcdInstalled, ensureEtcdTokens, waitEtcdHealthy } from '../localrun/etcd-cluster.js';
import { DEFAULT_POD_UID } from '../localrun/pod-user.js';
import { readProcessTable, writeProcessTable, isAlive, type ProcessRecord } from '../localrun/processes.js';
import { runCommand, UsageError } from './cli-context.js';
import { addressInUseError, busyListener, lastErrorLine, verifiedStatus } from './component-health.js';

const HELP = `usage: l4mesh up [--mode local|netns] [--nodes N] [--ha] [--state-dir DIR] [--address-base 127.B]

Starts a local mesh in the background: the control plane, node proxies node-1..node-N and the
local runtime that runs Deployments as processes. Progress is shown as each becomes ready.
Running it again starts only what is missing. Before starting anything it checks that every address a
component listens on is free: when another mesh (or any process) holds one, it says which and exits 1
with nothing started. A component counts as ready once it answers its readiness check from its own
listeners.

With --mode netns (Linux, root): nodes and pods are network namespaces (pods of node-k in 198.18.k.0/24,
service VIPs in ${NETNS_VIP_RANGE}); enrolled pods' traffic is captured in their namespace and programs
need nothing of the mesh. iproute2 and iptables are installed with apt-get when missing. The host's own
interfaces, routes and iptables are never touched; "l4mesh down" removes every namespace it made.

options:
  --mode local|netns     how workloads reach their node proxy (default ${DEFAULT_MESH_MODE}; fixed once the mesh exists)
  --nodes N              node proxies to run (default ${DEFAULT_NODES}; fixed once the mesh exists)
  --state-dir DIR        state directory (env ${ENV_STATE_DIR}, default ${DEFAULT_STATE_DIR_TEXT})
  --address-base 127.B   put everything in 127.B.0.0/16 instead of the default addresses
                         (env ${ENV_LOCAL_NET}); lets several meshes run side by side
  --ha                   a 3-member etcd cluster and two control-plane replicas instead of one
                         control plane with a file store (etcd-server is installed with apt-get when
                         missing, as root); fixed once the mesh exists. docs/control-plane.md, "HA"
  --netns-prefix l4m-X   netns mode: name every namespace l4m-X-... instead of l4m-... (meshes side by side)
`;

/** Node proxies fetch certificates and xDS before they are ready; a few seconds on a loaded laptop. */
const READY_TIMEOUT_MS = 30_000;
/** How often a starting component is checked. */
const READY_POLL_MS = 200;

/** Ready means: our process alive, its readiness check answering and, where /proc tells, its listeners its own. */
async function waitReady(c: Component, rec: ProcessRecord): Promise<boolean> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (!isAlive(rec)) return false;
    const status = await verifiedStatus(c, rec);
    if (status === 'Ready' || status === 'Running') return true;
    await new Promise((r) => setTimeout(r, READY_POLL_MS));
  }
  return false;
}

async function ensureTokens(stateDir: string, nodes: number): Promise<void> {
  await mkdir(tokensDir(stateDir), { recursive: true });
  let store: NodeTokenStore | undefined;
  for (let k = 1; k <= nodes; k++) {
    const file = nodeTokenFile(stateDir, `node-${k}`);
    if (existsSync(file)) continue;
    store ??= await NodeTokenStore.open(stateDir);
    await writeFile(file, (await store.create(`node-${k}`)) + '\n', { mode: 0o600 });
  }
}

export async function run(args: string[]): Promise<number> {
  return runCommand('up', HELP, args, async () => {
    const { values } = parseArgs({
      args,
      options: { nodes: { type: 'string' }, 'state-dir': { type: 'string' }, 'address-base': { type: 'string' }, ha: { type: 'boolean' }, mode: { type: 'string' }, 'netns-prefix': { type: 'string' } },
      strict: true,
    });
    if (values.mode !== undefined && values.mode !== 'local' && values.mode !== 'netns') throw new UsageError(`--mode: "${values.mode}" is not local or netns`);
    const stateDir = resolveStateDir(values['state-dir']);
    createStateDir(stateDir);
    let layout;
    const fresh = !existsSync(layoutFile(stateDir));
    if (!fresh) {
      layout = readLayout(stateDir);
      if (values.nodes && Number(values.nodes) !== layout.nodes) {
        throw new UsageError(`this mesh has ${layout.nodes} nodes; run "l4mesh down --purge" first to change --nodes`);
      }
      if (values.ha && !layout.ha) throw new UsageError('this mesh has one control plane with a file store; run "l4mesh down --purge" first to start it with --ha');
      if (values.mode && values.mode !== (layout.mode ?? DEFAULT_MESH_MODE)) {
        throw new UsageError(`this mesh runs in ${layout.mode ?? DEFAULT_MESH_MODE} mode; run "l4mesh down --purge" first to change --mode`);
      }
    } else {
      const net = values['address-base'] ?? process.env[ENV_LOCAL_NET];
      const nodes = values.nodes === undefined ? DEFAULT_NODES : Number(values.nodes);
      if (!Number.isInteger(nodes)) throw new UsageError(`--nodes: "${values.nodes}" is not a number`);
      const base = net ? parseLocalNet(net) : null;
      layout = values.mode === 'netns'
        ? makeNetnsLayout(base, nodes, process.cwd(), values['netns-prefix'] ?? NETNS_PREFIX, values.ha === true)
        : makeLayout(base, nodes, process.cwd(), values.ha === true);
    }
    const netns = layout.mode === 'netns';
    if (netns) {
      // Before anything is written or started: a bad --netns-prefix, or no root, addon or tools, stops here.
      meshTopology(layout);
      prepareNetnsHost((line) => process.stdout.write(`${line}\n`));
    }
    const ha = layout.ha;
    if (ha) ensureEtcdInstalled((line) => process.stdout.write(line + '\n'));
    const table = readProcessTable(stateDir);
    const components = meshComponents(stateDir, layout);
    // Which are up already, and for the rest: is every address free? Nothing starts unless all can.
    const running = new Map<string, boolean>();
    for (const c of components) {
      const rec = table[c.name];
      const status = await verifiedStatus(c, rec);
      running.set(c.name, status === 'Ready' || status === 'Running' || (rec !== undefined && isAlive(rec)));
    }
    for (const c of components) {
      if (running.get(c.name)) continue;
      const busy = await busyListener(c);
      if (busy) throw addressInUseError(c.name, busy, stateDir);
    }
    if (fresh) await writeLayout(stateDir, layout);
    // Nothing of this mesh running: whatever network an earlier run left (a crash) is replaced.
    if (netns && (![...running.values()].some(Boolean) || !(await netnsNetworkExists(layout)))) {
      process.stdout.write(`Building the network namespaces (${meshTopology(layout).fabricName()}, ${layout.nodes} nodes) ... `);
      await buildNetnsNetwork(layout);
      process.stdout.write('done\n');
    }
    // With --ha the tokens go into etcd, once it runs (below); alone they are the control plane's file.
    if (!ha) await ensureTokens(stateDir, layout.nodes);
    let started = 0;
    let failed = false;
    process.stdout.write(`Starting the local mesh (state dir ${stateDir})\n`);
    let etcdReady = !ha;
    for (const c of components) {
      if (!etcdReady && !c.name.startsWith(ETCD_MEMBER_PREFIX)) {
        // Every member started: wait for the cluster to elect a leader, then store the node tokens in it.
        process.stdout.write(`  ${'etcd cluster'.padEnd(18)} waiting for a leader ... `);
        await waitEtcdHealthy(ha!);
        await ensureEtcdTokens(stateDir, layout.nodes, ha!);
        process.stdout.write('healthy\n');
        etcdReady = true;
      }
      const label = c.name.padEnd(18);
      const rec = table[c.name];
      const status = await verifiedStatus(c, rec);
      if (status === 'Ready' || status === 'Running') {
        process.stdout.write(`  ${label} already running (pid ${rec!.pid})\n`);
        continue;
      }
      if (rec && isAlive(rec)) {
        // Alive but not ready: give it the same bound a fresh start gets rather than starting a second copy.
        process.stdout.write(`  ${label} running (pid ${rec.pid}), waiting for ready ... `);
        const ok = await waitReady(c, rec);
        process.stdout.write(ok ? 'ready\n' : `not ready — see ${c.log}\n`);
        failed ||= !ok;
        continue;
      }
      // The package root as cwd: `--import tsx` (running from src) resolves from there; pods get their own cwd.
      const proc = await spawnComponent(c, stateDir);
      table[c.name] = { ...proc, address: c.address };
      await writeProcessTable(stateDir, table);
      started++;
      process.stdout.write(`  ${label} started (pid ${proc.pid}) ... `);
      const ok = await waitReady(c, proc);
      if (!ok) {
        const why = lastErrorLine(c.log);
        process.stdout.write(`FAILED — see ${c.log}\n`);
        if (why) process.stderr.write(`${c.name}: ${why}\n`);
        failed = true;
        break;
      }
      process.stdout.write('ready\n');
    }
    if (failed) {
      process.stderr.write('error: the mesh did not come up; check the logs above, then run "l4mesh up" again (or "l4mesh down")\n');
      return 1;
    }
    process.stdout.write(started === 0 ? 'Nothing to do: the mesh is already up.\n' : 'The mesh is up.\n');
    if (netns) process.stdout.write(`Mode: netns — pods run in network namespaces ${meshTopology(layout).prefix}-<node>-<pod>; label a namespace or pod istio.io/dataplane-mode=ambient to enroll it.\n`);
    else process.stdout.write(`Note: local mode is not a security boundary between processes of the same user (as root, pods run as uid ${DEFAULT_POD_UID} unless securityContext.runAsUser says otherwise).\n`);
    for (const cp of ha?.replicas ?? [layout.controlPlaneAddress]) {
      process.stdout.write(`\n  control plane   xDS + CA ${cp}:${layout.grpcPort}   API, debug ${controlPlaneUrl({ controlPlaneAddress: cp, httpPort: layout.httpPort })}`);
    }
    // Pods cannot reach the host's loopback; the control plane also listens for them in the fabric (components.ts).
    if (netns) process.stdout.write(`\n  for pods        xDS + CA ${FABRIC_CONTROL_PLANE_IP}:${layout.grpcPort}   API http://${FABRIC_CONTROL_PLANE_IP}:${layout.httpPort} (in ${meshTopology(layout).fabricName()})`);
    process.stdout.write('\n');
    if (ha) process.stdout.write(`  etcd            ${etcdEndpoints(ha)}\n`);
    for (let k = 1; k <= layout.nodes; k++) {
      const a = nodeAddress(layout, k);
      process.stdout.write(`  node-${k}          ${a}: HBONE :${HBONE_PORT}, metrics :${PROXY_METRICS_PORT}, readiness :${PROXY_READINESS_PORT}, admin :${PROXY_ADMIN_PORT}\n`);
    }
    process.stdout.write(`  pods            ${layout.podRanges.map((r) => r.join('-')).join(', ')}; service VIPs ${layout.vipRange}\n`);
    process.stdout.write(`  logs            ${logsDir(stateDir)}\n\nNext: l4mesh apply -f <manifest>, l4mesh get pods, l4mesh status\n`);
    return 0;
  });
}

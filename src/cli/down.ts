// `l4mesh down`: stops every process `up` (and the runtime, and `dashboard`) started; `--purge` removes the state dir.
import { rm } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { CONTROL_PLANE, ETCD_MEMBER_PREFIX, PROMETHEUS, RUNTIME } from '../localrun/components.js';
import { layoutFile } from '../config/state-layout.js';
import { readLayout, resolveStateDir } from '../localrun/layout.js';
import { meshTopology, removeNetnsNetwork } from '../localrun/netns-network.js';
import { isAlive, readProcessTable, stopProcess, writeProcessTable, type ProcessRecord } from '../localrun/processes.js';
import { readPodProcesses } from '../localrun/pod-processes.js';
import { runCommand } from './cli-context.js';

const HELP = `usage: l4mesh down [--purge] [--state-dir DIR]

Stops the local mesh: the runtime first (so pods stop), Prometheus if "dashboard" started it, the node
proxies, then the control plane (every replica, then the etcd members of "up --ha"); in netns mode it then
removes every network namespace, link, rule and /etc/netns file the mesh made. Each gets SIGTERM, then
SIGKILL after a few seconds; every recorded pid is checked to be gone. Resources stay in the state dir for the next "up" unless --purge removes it.
`;

/** The runtime first, so pods stop while their node proxies still answer; the control plane(s), then etcd, last. */
function stopOrder(names: string[]): string[] {
  const rank = (n: string) =>
    n === RUNTIME ? 0 : n === PROMETHEUS ? 1 : n.startsWith(ETCD_MEMBER_PREFIX) ? 4 : n === CONTROL_PLANE || n.startsWith(`${CONTROL_PLANE}-`) ? 3 : 2;
  return [...names].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

export async function run(args: string[]): Promise<number> {
  return runCommand('down', HELP, args, async () => {
    const { values } = parseArgs({ args, options: { purge: { type: 'boolean' }, 'state-dir': { type: 'string' } }, strict: true });
    const stateDir = resolveStateDir(values['state-dir']);
    const table = readProcessTable(stateDir);
    const left: string[] = [];
    let stopped = 0;
    const stopOne = async (name: string, rec: ProcessRecord) => {
      if (!isAlive(rec)) return;
      const gone = await stopProcess(rec);
      if (gone) {
        stopped++;
        process.stdout.write(`  ${name.padEnd(18)} stopped (pid ${rec.pid})\n`);
      } else left.push(`${name} (pid ${rec.pid})`);
    };
    for (const name of stopOrder(Object.keys(table))) {
      await stopOne(name, table[name]!);
      // Pods the runtime could not stop itself (it was killed, or timed out) are stopped right after it.
      if (name === RUNTIME) for (const [pod, rec] of Object.entries(readPodProcesses(stateDir))) await stopOne(`pod ${pod}`, rec);
    }
    if (!table[RUNTIME]) for (const [pod, rec] of Object.entries(readPodProcesses(stateDir))) await stopOne(`pod ${pod}`, rec);
    if (left.length > 0) {
      process.stderr.write(`error: still running after SIGKILL: ${left.join(', ')}; check them with "ps -p <pid>"\n`);
      return 1;
    }
    await writeProcessTable(stateDir, {}).catch(() => {});
    const layout = existsSync(layoutFile(stateDir)) ? readLayout(stateDir) : undefined;
    if (layout?.mode === 'netns') {
      // After every process: nothing uses the namespaces any more. Also after a crash (nothing was running).
      await removeNetnsNetwork(layout);
      process.stdout.write(`  removed the network namespaces ${meshTopology(layout).prefix}-*\n`);
    }
    if (values.purge) {
      await rm(stateDir, { recursive: true, force: true });
      process.stdout.write(`Removed ${stateDir}.\n`);
    }
    process.stdout.write(stopped === 0 ? 'Nothing was running.\n' : 'The mesh is down.\n');
    return 0;
  });
}

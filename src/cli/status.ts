// `l4mesh status`: each component of the local mesh, its pid, address and health.
import { parseArgs } from 'node:util';
import { componentStatus, meshComponents, PROMETHEUS } from '../localrun/components.js';
import { readLayout, resolveStateDir } from '../localrun/layout.js';
import { readProcessTable } from '../localrun/processes.js';
import { formatTable, runCommand } from './cli-context.js';
import { verifiedStatus } from './component-health.js';

const HELP = `usage: l4mesh status [--state-dir DIR]

Shows every component of the local mesh: NAME PID ADDRESS STATUS, where STATUS is Ready (answers its
readiness check from its own listeners), NotReady (running, not ready, or another process answers
on its address), Running (no readiness check) or Stopped.
Exit code 0 when every component is Ready or Running, 1 otherwise.
`;

export async function run(args: string[]): Promise<number> {
  return runCommand('status', HELP, args, async () => {
    const { values } = parseArgs({ args, options: { 'state-dir': { type: 'string' } }, strict: true });
    const stateDir = resolveStateDir(values['state-dir']);
    const layout = readLayout(stateDir);
    const table = readProcessTable(stateDir);
    const rows: string[][] = [];
    let healthy = true;
    const components = meshComponents(stateDir, layout);
    for (const c of components) {
      const rec = table[c.name];
      const status = await verifiedStatus(c, rec);
      healthy &&= status === 'Ready' || status === 'Running';
      rows.push([c.name, status === 'Stopped' ? '-' : String(rec!.pid), c.address, status]);
    }
    const prom = table[PROMETHEUS];
    if (prom) {
      const status = await componentStatus(prom, `http://${prom.address}/-/ready`);
      rows.push([PROMETHEUS, status === 'Stopped' ? '-' : String(prom.pid), prom.address ?? '-', status]);
    }
    process.stdout.write(formatTable(['NAME', 'PID', 'ADDRESS', 'STATUS'], rows));
    return healthy ? 0 : 1;
  });
}

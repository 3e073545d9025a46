// The health of a mesh component as `up` and `status` report it: alive, answering its readiness check,
// and holding its own listeners — a readiness answer from another mesh on the same address is not ours.
import { readFileSync } from 'node:fs';
import { L4meshError } from '../errors/index.js';
import { componentStatus, type Component, type ComponentStatus } from '../localrun/components.js';
import { ENV_STATE_DIR } from '../config/paths.js';
import { pidsFile } from '../config/state-layout.js';
import type { ProcessRecord } from '../localrun/processes.js';
import { bindError, formatListener, listenerOwner, ownsListener, stateDirOf, type Listener } from './listeners.js';

export async function verifiedStatus(c: Component, rec: ProcessRecord | undefined): Promise<ComponentStatus> {
  const status = await componentStatus(rec, c.readyUrl);
  if (status !== 'Ready' && status !== 'Running') return status;
  // /proc undefined (not Linux): the readiness answer is all there is to go on.
  for (const l of c.listens) if (ownsListener(rec!.pid, l) === false) return 'NotReady';
  return status;
}

/** The first of the component's listeners that cannot be bound now, with the bind error. */
export async function busyListener(c: Component): Promise<{ listener: Listener; code: string } | undefined> {
  for (const l of c.listens) {
    const code = await bindError(l);
    if (code) return { listener: l, code };
  }
  return undefined;
}

/** Says who holds the address and what to do: use that mesh, stop it, or move this one. */
export function addressInUseError(component: string, busy: { listener: Listener; code: string }, stateDir: string): L4meshError {
  const where = `${busy.code} ${formatListener(busy.listener)}`;
  const owner = listenerOwner(busy.listener);
  const otherDir = owner && owner.argv.some((a) => /l4mesh|main\.[jt]s$/.test(a)) ? stateDirOf(owner.argv) : undefined;
  let message: string;
  if (otherDir && otherDir !== stateDir) {
    message =
      `${where}: a mesh is already running there (pid ${owner!.pid}, state dir ${otherDir}); ${component} cannot start. ` +
      `Use that mesh with --state-dir ${otherDir} (or ${ENV_STATE_DIR}=${otherDir}), stop it with "l4mesh down --state-dir ${otherDir}", ` +
      `or start this one on other addresses with --address-base 127.B`;
  } else if (otherDir) {
    message = `${where}: a ${component} of this state dir is running as pid ${owner!.pid} but is not in ${pidsFile(stateDir)}; stop it (kill ${owner!.pid}) and run "l4mesh up" again`;
  } else if (busy.code === 'EADDRINUSE') {
    const who = owner ? `pid ${owner.pid} (${owner.argv.join(' ').slice(0, 120)})` : 'another process (see "ss -ltnp")';
    message = `${where}: ${component} cannot listen there, it is in use by ${who}; stop it or start the mesh on other addresses with --address-base 127.B`;
  } else {
    message = `${where}: ${component} cannot listen there; check the address exists on this machine or choose --address-base 127.B`;
  }
  return new L4meshError('L4MESH_ERR_ADDRESS_IN_USE', message);
}

/** The last line of a component's log that looks like an error, to show why it did not come up. */
export function lastErrorLine(logFile: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return [...lines].reverse().find((l) => /error|EADDRINUSE|cannot|failed/i.test(l)) ?? lines[lines.length - 1];
}

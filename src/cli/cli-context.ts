// What every mesh-facing subcommand shares: the state dir, the recorded layout, the control-plane client,
// and turning errors into a message on stderr and an exit code (0 ok, 1 failure, 2 usage).
import { ControlPlaneClient, ControlPlaneError } from '../controlplane/client/control-plane-client.js';
import { controlPlaneAddresses, readLayout, resolveStateDir, type Layout } from '../localrun/layout.js';
import { ENV_STATE_DIR, stateDirSource } from '../config/paths.js';
import { L4meshError } from '../errors/index.js';
import { listenerOwner, stateDirOf } from './listeners.js';

export interface CliContext {
  stateDir: string;
  layout: Layout;
  client: ControlPlaneClient;
}

export class UsageError extends L4meshError {
  constructor(message: string) {
    super('L4MESH_ERR_CONFIG', message);
  }
}

/** The context this process opened, so a rejected token can be explained with the state dir it came from. */
let opened: { stateDir: string; source: string; layout: Layout } | undefined;

export async function openContext(stateDirFlag: string | undefined): Promise<CliContext> {
  const stateDir = resolveStateDir(stateDirFlag);
  const layout = readLayout(stateDir);
  opened = { stateDir, source: stateDirSource(stateDirFlag), layout };
  // Every replica of `up --ha`: requests move to the next when one does not answer.
  const address = controlPlaneAddresses(layout, layout.httpPort);
  let client: ControlPlaneClient;
  try {
    client = await ControlPlaneClient.open(stateDir, address);
  } catch (err) {
    // No token here, yet a control plane may be running from another state dir: name it.
    const owner = listenerOwner({ address: layout.controlPlaneAddress, port: layout.httpPort });
    const theirs = owner ? stateDirOf(owner.argv) : undefined;
    if (!theirs || theirs === stateDir) throw err;
    throw new L4meshError(
      'L4MESH_ERR_NO_CONTROL_PLANE',
      `state dir ${stateDir} (from ${opened.source}) has no mesh, but a control plane at ${address} runs with state dir ${theirs} (pid ${owner!.pid}); use --state-dir ${theirs} or set ${ENV_STATE_DIR}`,
      { cause: err },
    );
  }
  return { stateDir, layout, client };
}

/** A control plane answers but refuses our admin token: it was started with another state dir. Say which. */
function explainRejectedToken(err: ControlPlaneError): L4meshError {
  const o = opened!;
  const address = `${o.layout.controlPlaneAddress}:${o.layout.httpPort}`;
  const owner = listenerOwner({ address: o.layout.controlPlaneAddress, port: o.layout.httpPort });
  const theirs = owner ? stateDirOf(owner.argv) : undefined;
  const runsWith = theirs ? `it runs with state dir ${theirs} (pid ${owner!.pid}); use --state-dir ${theirs}` : 'it was started with another state dir; use that one with --state-dir';
  return new L4meshError(
    'L4MESH_ERR_UNAUTHENTICATED',
    `the control plane at ${address} rejected the admin token of state dir ${o.stateDir} (from ${o.source}): ${runsWith} or set ${ENV_STATE_DIR}`,
    { cause: err },
  );
}

/** Runs a subcommand body; errors become `l4mesh <name>: message` and exit code 1, usage errors 2. */
export async function runCommand(name: string, help: string, args: string[], body: () => Promise<number>): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(help);
    return 0;
  }
  try {
    return await body();
  } catch (caught) {
    const err = caught instanceof ControlPlaneError && caught.status === 401 && opened ? explainRejectedToken(caught) : caught;
    const e = err as Error & { code?: string };
    process.stderr.write(`error: ${e.message}\n`);
    if (e instanceof UsageError || e.code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`Run "l4mesh ${name} --help" for usage.\n`);
      return 2;
    }
    return 1;
  }
}

/** Left-aligned columns separated by three spaces, as kubectl prints them. */
export function formatTable(header: string[], rows: string[][], gap = 3): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]! + gap)))
      .join('')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** kubectl's short age: 5s, 3m12s, 2h5m, 2d. */
export function formatAge(fromIso: string | undefined, now = Date.now()): string {
  if (!fromIso) return '<unknown>';
  const s = Math.max(0, Math.floor((now - Date.parse(fromIso)) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 ? `${m}m${s % 60}s` : `${m}m`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 8) return h % 24 ? `${d}d${h % 24}h` : `${d}d`;
  return d < 365 * 2 ? `${d}d` : `${Math.floor(d / 365)}y`;
}

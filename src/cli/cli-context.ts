// What every mesh-facing subcommand shares: the state dir, the recorded layout, the control-plane client,
// and turning errors into a message on stderr and an exit code (0 ok, 1 failure, 2 usage).
import { ControlPlaneClient } from '../controlplane/client/control-plane-client.js';
import { readLayout, resolveStateDir, type Layout } from '../localrun/layout.js';
import { L4meshError } from '../errors/index.js';

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

export async function openContext(stateDirFlag: string | undefined): Promise<CliContext> {
  const stateDir = resolveStateDir(stateDirFlag);
  const layout = readLayout(stateDir);
  const client = await ControlPlaneClient.open(stateDir, `${layout.controlPlaneAddress}:${layout.httpPort}`);
  return { stateDir, layout, client };
}

/** Runs a subcommand body; errors become `l4mesh <name>: message` and exit code 1, usage errors 2. */
export async function runCommand(name: string, help: string, args: string[], body: () => Promise<number>): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(help);
    return 0;
  }
  try {
    return await body();
  } catch (err) {
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

// Runs the l4mesh CLI as a child process against a per-test state dir and 127.<b>.0.0/16 block.
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../../src/config/paths.js';
import { cliCommand } from '../../support/processes.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliMesh {
  base: number;
  stateDir: string;
  /** The environment every run gets (L4MESH_LOCAL_NET, and the state dir's variable). */
  env: Record<string, string | undefined>;
  /**
   * Where tests write manifests: pods run in their manifest's directory, and under a root mesh they run as
   * uid 65534, which cannot enter the (owner-only) state dir, so this one is world-readable.
   */
  manifestDir: string;
  run(args: string[], timeoutMs?: number, options?: RunOptions): Promise<CliResult>;
  cleanup(): Promise<void>;
}

export interface RunOptions {
  /** Where the CLI runs (default the package root). */
  cwd?: string;
  /** Added to (or, when undefined, removed from) the mesh's environment. */
  env?: Record<string, string | undefined>;
}

export interface CliMeshOptions {
  /** Reuse this 127.<b> block (a second mesh on the addresses of a first). */
  base?: number;
  /**
   * Leave L4MESH_STATE_DIR unset and point XDG_STATE_HOME at the temp dir instead, so every command
   * finds the mesh through the per-user default ($XDG_STATE_HOME/l4mesh) as a user's shell would.
   */
  defaultStateDir?: boolean;
}

async function free(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, ip, () => s.close(() => resolve(true)));
  });
}

/** 127.20–127.99: below test/support/mesh.ts's 127.100+ so both kinds of tests can run side by side. */
let next = 20 + (process.pid % 40) * 2;
async function pickBase(): Promise<number> {
  for (let i = 0; i < 80; i++) {
    const b = 20 + ((next++ - 20) % 80);
    if (await free(`127.${b}.0.254`, 15014)) return b;
  }
  throw new Error('no free 127.<b>.0.0/16 block for the CLI test');
}

export async function cliMesh(options: CliMeshOptions = {}): Promise<CliMesh> {
  const base = options.base ?? (await pickBase());
  const tmp = await mkdtemp(join(tmpdir(), 'l4mesh-cli-'));
  const stateDir = options.defaultStateDir ? join(tmp, 'l4mesh') : tmp;
  const manifestDir = await mkdtemp(join(tmpdir(), 'l4mesh-manifests-'));
  await chmod(manifestDir, 0o755);
  const env: Record<string, string | undefined> = { ...process.env, L4MESH_LOCAL_NET: `127.${base}` };
  if (options.defaultStateDir) {
    delete env['L4MESH_STATE_DIR'];
    env['XDG_STATE_HOME'] = tmp;
  } else env['L4MESH_STATE_DIR'] = stateDir;
  return {
    base,
    stateDir,
    env,
    manifestDir,
    run(args, timeoutMs = 60_000, runOptions = {}) {
      const { command, args: full } = cliCommand(args);
      const childEnv = { ...env, ...runOptions.env };
      for (const [k, v] of Object.entries(childEnv)) if (v === undefined) delete childEnv[k];
      return new Promise((resolve, reject) => {
        const child = spawn(command, full, { env: childEnv, cwd: runOptions.cwd ?? packageRoot(), stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (b: Buffer) => (stdout += b));
        child.stderr.on('data', (b: Buffer) => (stderr += b));
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`l4mesh ${args.join(' ')} timed out after ${timeoutMs} ms\n${stdout}\n${stderr}`));
        }, timeoutMs);
        child.once('close', (code) => {
          clearTimeout(timer);
          resolve({ code, stdout, stderr });
        });
      });
    },
    async cleanup() {
      await rm(tmp, { recursive: true, force: true });
      await rm(manifestDir, { recursive: true, force: true });
    },
  };
}

/** Splits a table into rows of cells at the header's column starts (cells may hold single spaces). */
export function parseTable(text: string, header: string[]): Array<Record<string, string>> {
  const lines = text.trimEnd().split('\n');
  const head = lines[0]!;
  const starts = header.map((h) => {
    const i = head.indexOf(h);
    if (i < 0) throw new Error(`header ${h} not in: ${head}`);
    return i;
  });
  return lines.slice(1).map((line) => Object.fromEntries(header.map((h, i) => [h, line.slice(starts[i], starts[i + 1] ?? undefined).trim()])));
}

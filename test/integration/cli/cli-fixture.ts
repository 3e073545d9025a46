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
  /**
   * Where tests write manifests: pods run in their manifest's directory, and under a root mesh they run as
   * uid 65534, which cannot enter the (owner-only) state dir, so this one is world-readable.
   */
  manifestDir: string;
  run(args: string[], timeoutMs?: number): Promise<CliResult>;
  cleanup(): Promise<void>;
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

export async function cliMesh(): Promise<CliMesh> {
  const base = await pickBase();
  const stateDir = await mkdtemp(join(tmpdir(), 'l4mesh-cli-'));
  const manifestDir = await mkdtemp(join(tmpdir(), 'l4mesh-manifests-'));
  await chmod(manifestDir, 0o755);
  const env = { ...process.env, L4MESH_STATE_DIR: stateDir, L4MESH_LOCAL_NET: `127.${base}` };
  return {
    base,
    stateDir,
    manifestDir,
    run(args, timeoutMs = 60_000) {
      const { command, args: full } = cliCommand(args);
      return new Promise((resolve, reject) => {
        const child = spawn(command, full, { env, cwd: packageRoot(), stdio: ['ignore', 'pipe', 'pipe'] });
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
      await rm(stateDir, { recursive: true, force: true });
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

// A local mesh on its own 127.<b> block and state dir for the Bookinfo tests: runs l4mesh as the demo does
// (samples/bookinfo/demo/mesh-cli.ts), runs commands inside a pod with `l4mesh exec`, and tears everything down.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../src/config/paths.js';
import { readPodProcesses } from '../../src/localrun/pod-processes.js';
import { isAlive, readProcessTable } from '../../src/localrun/processes.js';
import { MeshCli, type CliResult } from '../../samples/bookinfo/demo/mesh-cli.js';
import { cliMesh, type CliMesh } from '../integration/cli/cli-fixture.js';

export interface BookinfoMesh {
  cli: MeshCli;
  base: number;
  stateDir: string;
  /** What the deploy steps printed, for failure messages. */
  log: string[];
  /**
   * `l4mesh exec deploy/POD -- sh -c SCRIPT` with no PG* variables and an empty HOME (no ~/.psqlrc, ~/.pgpass
   * or ~/.postgresql/), so libpq clients run with their defaults. On timeout the whole process group is killed.
   */
  exec(pod: string, script: string, timeoutMs: number): Promise<CliResult & { timedOut: boolean }>;
  close(): Promise<void>;
}

/** Ends the process group of a command that hangs (psql waiting forever on a server that never answers). */
const KILL_GRACE_MS = 2_000;

export async function startBookinfoMesh(deploy: (cli: MeshCli, say: (line: string) => void) => Promise<void>): Promise<BookinfoMesh> {
  const mesh: CliMesh = await cliMesh();
  const home = await mkdtemp(join(tmpdir(), 'l4mesh-home-'));
  const env: NodeJS.ProcessEnv = { ...process.env, L4MESH_STATE_DIR: mesh.stateDir, L4MESH_LOCAL_NET: `127.${mesh.base}` };
  const cli = new MeshCli(env);
  const log: string[] = [];
  const recorded = () => [...Object.values(readProcessTable(mesh.stateDir)), ...Object.values(readPodProcesses(mesh.stateDir))];
  const seen = new Map<number, { pid: number; startTime: string | null }>();
  const close = async () => {
    for (const r of recorded()) seen.set(r.pid, r);
    await cli.run(['down']).catch(() => undefined);
    for (const r of seen.values()) if (isAlive(r)) process.kill(r.pid, 'SIGKILL');
    await rm(home, { recursive: true, force: true });
    await mesh.cleanup();
  };
  try {
    log.push(await cli.must(['up']));
    await deploy(cli, (line) => log.push(line));
    for (const r of recorded()) seen.set(r.pid, r);
  } catch (err) {
    await close();
    throw err;
  }

  const clientEnv = Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('PG')));
  clientEnv['HOME'] = home;
  return {
    cli,
    base: mesh.base,
    stateDir: mesh.stateDir,
    log,
    exec(pod, script, timeoutMs) {
      return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [join(packageRoot(), 'bin', 'l4mesh'), 'exec', `deploy/${pod}`, '--', 'sh', '-c', script], {
          env: clientEnv,
          cwd: home,
          detached: true,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        let timedOut = false;
        child.stdout.on('data', (b: Buffer) => (stdout += b));
        child.stderr.on('data', (b: Buffer) => (stderr += b));
        const killGroup = (signal: NodeJS.Signals) => {
          try {
            process.kill(-child.pid!, signal);
          } catch {
            // The group is gone already.
          }
        };
        const timer = setTimeout(() => {
          timedOut = true;
          killGroup('SIGTERM');
          setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS).unref();
        }, timeoutMs);
        child.once('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
        child.once('close', (code) => {
          clearTimeout(timer);
          killGroup('SIGKILL');
          resolve({ code, stdout, stderr, timedOut });
        });
      });
    },
    close,
  };
}

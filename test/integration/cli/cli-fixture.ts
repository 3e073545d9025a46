// Runs the l4mesh CLI as a child process against a per-test state dir and 127.<b>.0.0/16 block.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../../src/config/paths.js';
import { isAlive, readProcessTable, type ProcessRecord } from '../../../src/localrun/processes.js';
import { cliCommand } from '../../support/processes.js';
import { blockPicker, eventually } from '../../support/mesh.js';

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

/** 127.20–127.99: below test/support/mesh.ts's 127.100+ so both kinds of tests can run side by side. */
const pickBase = blockPicker(20, 80, 20 + (process.pid % 40) * 2, 'CLI test');

export async function cliMesh(options: CliMeshOptions = {}): Promise<CliMesh> {
  // A block given by the caller is a first mesh's, which holds its claim.
  const picked = options.base === undefined ? await pickBase() : undefined;
  // A test that forgets its cleanup must not keep its process alive for the claim.
  picked?.claim.unref();
  const base = options.base ?? picked!.base;
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
      if (picked?.claim.listening) await new Promise<void>((r) => picked.claim.close(() => r()));
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

export interface WithCliMeshOptions extends CliMeshOptions {
  /** `up --nodes N` (default 2). */
  nodes?: number;
  /** Bound on `up` (default 90 s: a loaded 2-core box starts two node proxies and the control plane slowly). */
  upTimeoutMs?: number;
}

/**
 * A mesh for one test: `up`, then `fn`, then — whatever happened — `down`, SIGKILL for any process of the
 * mesh still alive (recorded after `up` and again before `down`), and the temp dirs removed.
 */
export async function withCliMesh<T>(fn: (mesh: CliMesh) => Promise<T>, options: WithCliMeshOptions = {}): Promise<T> {
  const mesh = await cliMesh(options);
  const recorded: Array<Pick<ProcessRecord, 'pid' | 'startTime'>> = [];
  const record = () => {
    for (const r of Object.values(readProcessTable(mesh.stateDir))) if (!recorded.some((x) => x.pid === r.pid && x.startTime === r.startTime)) recorded.push(r);
  };
  try {
    const up = await mesh.run(['up', '--nodes', String(options.nodes ?? 2)], options.upTimeoutMs ?? 90_000);
    assert.equal(up.code, 0, up.stdout + up.stderr);
    record();
    return await fn(mesh);
  } finally {
    try {
      record();
    } catch {
      // A state dir the test broke on purpose: the processes recorded after `up` are still killed below.
    }
    await mesh.run(['down']).catch(() => undefined);
    for (const r of recorded) if (isAlive(r)) process.kill(r.pid, 'SIGKILL');
    await mesh.cleanup();
  }
}

/** Waits until `get pods` lists exactly `count` pods, all READY 1/1; returns the `-o wide` rows. */
export async function waitForReadyPods(mesh: CliMesh, count: number, timeoutMs = 120_000): Promise<Array<Record<string, string>>> {
  let pods = '';
  return eventually(async () => {
    pods = (await mesh.run(['get', 'pods', '-o', 'wide'])).stdout;
    const rows = parseTable(pods, ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE']);
    return rows.length === count && rows.every((r) => r['READY'] === '1/1') ? rows : undefined;
  }, timeoutMs, `${count} pods Ready`).catch((err: Error) => {
    throw new Error(`${err.message}\n${pods}`);
  });
}

/** A DestinationRule for `reviews` defining `subsets`, each selecting the pods labelled version=<subset>. */
export function reviewsDestinationRule(subsets: readonly string[]): string {
  return `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  subsets: [${subsets.map((s) => `{name: ${s}, labels: {version: ${s}}}`).join(', ')}]
`;
}

/** A VirtualService sending every HTTP request for `reviews` to `subset`. */
export function reviewsVirtualService(subset: string): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http: [{route: [{destination: {host: reviews, subset: ${subset}}}]}]
`;
}

/** An AuthorizationPolicy `name` denying `principal` (no spiffe:// scheme) at the pods labelled app=`app`. */
export function denyPrincipalPolicy(name: string, app: string, principal: string): string {
  return `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ${name}}
spec:
  selector: {matchLabels: {app: ${app}}}
  action: DENY
  rules: [{from: [{source: {principals: [${principal}]}}]}]
`;
}

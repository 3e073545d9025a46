// Runs `l4mesh` subcommands for the demo (the repository's own bin/l4mesh, with the demo's state dir and
// address block in the environment) and waits on what they report.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../../../src/config/paths.js';
import { ANNOTATION_NETNS } from '../../../src/api/labels.js';

/** Generous: the first `up` on a slow laptop mints a CA and starts three processes. */
const COMMAND_TIMEOUT_MS = 120_000;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export class MeshCli {
  private stopped = false;
  private readonly running = new Set<ChildProcess>();

  constructor(private readonly env: NodeJS.ProcessEnv) {}

  /** Ctrl-C: the running commands get SIGINT and no new one starts (the demo's `down` uses a new MeshCli). */
  stop(): void {
    this.stopped = true;
    for (const child of this.running) child.kill('SIGINT');
  }

  /** Runs `l4mesh ARGS`; never rejects on a non-zero exit (the caller decides), only on a timeout or after stop(). */
  run(args: string[], timeoutMs = COMMAND_TIMEOUT_MS): Promise<CliResult> {
    if (this.stopped) return Promise.reject(new Error(`l4mesh ${args.join(' ')}: not started, the demo is stopping`));
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [join(packageRoot(), 'bin', 'l4mesh'), ...args], { env: this.env, cwd: packageRoot(), stdio: ['ignore', 'pipe', 'pipe'] });
      this.running.add(child);
      child.once('close', () => this.running.delete(child));
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (b: Buffer) => (stdout += b));
      child.stderr.on('data', (b: Buffer) => (stderr += b));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`l4mesh ${args.join(' ')} did not finish within ${timeoutMs / 1000}s\n${stdout}${stderr}`));
      }, timeoutMs);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** Like run, but a non-zero exit is an error carrying the command's output. */
  async must(args: string[]): Promise<string> {
    const r = await this.run(args);
    if (r.code !== 0) throw new Error(`l4mesh ${args.join(' ')} failed (exit ${r.code}):\n${r.stdout}${r.stderr}`);
    return r.stdout;
  }

  /** Polls `l4mesh get pods` until `names` (Deployment names) each have a Running 1/1 pod. */
  async waitForPods(names: string[], timeoutMs: number, progress: (line: string) => void): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      const r = await this.run(['get', 'pods']);
      const rows = r.stdout.split('\n').slice(1).filter(Boolean).map((l) => l.split(/\s+/));
      const ready = names.filter((n) => rows.some((c) => c[0]!.startsWith(`${n}-`) && c[1] === '1/1' && c[2] === 'Running'));
      const line = `  pods ready: ${ready.length}/${names.length}`;
      if (line !== last) progress(line);
      last = line;
      if (ready.length === names.length) return;
      await new Promise((res) => setTimeout(res, 1_000));
    }
    const pods = await this.run(['get', 'pods']);
    throw new Error(`pods not ready after ${timeoutMs / 1000}s:\n${pods.stdout}${pods.stderr}check their logs: l4mesh logs deploy/<name>`);
  }

  /** netns mode: the IP and network namespace of a Deployment's (first) pod, from `get pods -o json`. */
  async podNetwork(deploy: string): Promise<{ ip: string; netns: string }> {
    const list = JSON.parse(await this.must(['get', 'pods', '-o', 'json'])) as { items: Array<{ metadata: { name: string; annotations?: Record<string, string> }; status?: { podIP?: string } }> };
    const pod = list.items.find((p) => p.metadata.name.startsWith(`${deploy}-`));
    const ip = pod?.status?.podIP;
    const netns = pod?.metadata.annotations?.[ANNOTATION_NETNS];
    if (!ip || !netns) throw new Error(`deploy/${deploy} has no pod with an IP and a network namespace (${ANNOTATION_NETNS}); is the mesh in netns mode? check: l4mesh get pods -o wide`);
    return { ip, netns };
  }

  /** One variable of a Deployment's pod environment (e.g. PRODUCTPAGE_SERVICE_HOST of deploy/curl). */
  async podEnv(deploy: string, name: string): Promise<string> {
    const value = (await this.must(['exec', `deploy/${deploy}`, '--', 'printenv', name])).trim();
    if (!value) throw new Error(`deploy/${deploy} has no ${name}`);
    return value;
  }
}

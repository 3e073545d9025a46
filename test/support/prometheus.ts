// A real Prometheus for integration tests (Debian's package, which `npm test`'s setup installs): the binary or
// why a test skips, and one started with 1 s scrapes of a control plane's HTTP service discovery.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../../src/config/paths.js';
import { eventually } from './mesh.js';
import type { TestSetup } from './test-setup.js';

/** The suite's setup (npm's pretest) installs prometheus; its check here is the one the setup used. */
const setup = (await import(pathToFileURL(join(packageRoot(), 'scripts', 'test-setup.mjs')).href)) as TestSetup;
/** Prometheus' start-up on a loaded 2-core machine takes several seconds. */
const READY_TIMEOUT_MS = 60_000;
/** SIGTERM lets it flush its TSDB; past this it is killed. */
const STOP_GRACE_MS = 5_000;

/** The prometheus binary, or why the test skips. Never installs: that is `npm test`'s setup's job. */
export function findPrometheus(): { path: string } | { skip: string } {
  const wanted = setup.TEST_PACKAGES.find((p) => p.pkg === 'prometheus');
  if (!wanted) throw new Error('scripts/test-setup.mjs no longer lists prometheus');
  if (!wanted.present()) return { skip: setup.missingReason('prometheus') };
  return { path: execFileSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' }).trim() };
}

export interface TestPrometheus {
  /** `http://<listen address>`. */
  url: string;
  /** What it printed so far, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/** Starts `binary` scraping what `sdUrl` lists every 1 s, storage under `dir`, and waits until it is ready. */
export async function startPrometheus(binary: string, dir: string, listenAddress: string, sdUrl: string): Promise<TestPrometheus> {
  await writeFile(
    join(dir, 'prometheus.yml'),
    `global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
- job_name: l4mesh
  http_sd_configs:
  - url: ${sdUrl}
    refresh_interval: 1s
`,
  );
  const child: ChildProcess = spawn(binary, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=${listenAddress}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, STOP_GRACE_MS))]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const url = `http://${listenAddress}`;
  try {
    await eventually(async () => (await fetch(`${url}/-/ready`).catch(() => undefined))?.status === 200, READY_TIMEOUT_MS, `prometheus ready (${output.slice(-500)})`);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, output: () => output, stop };
}

// Running the guides' command blocks as a user would (guides.test.ts: local mode after `npm run demo`;
// guides-netns.test.ts: netns mode), one after another on ONE state dir and address block: each guide must
// establish its own starting state, and its cleanup must leave nothing behind. A block fails on a non-zero
// exit, on an error or warning on stderr, or on output that differs from what the guide shows (only
// run-to-run noise is masked, see guide-blocks.ts). Needs `npm run build`.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join, relative } from 'node:path';
import { packageRoot } from '../../../src/config/paths.js';
import { blockOutput, blocksFor, compare, parseGuide, rewriteAddresses, toDefaultLayout, toDefaultPrefix, withNetnsPrefix, type Block, type Variant } from './guide-blocks.js';
import type { TestContext } from 'node:test';

/** One command block (e.g. the nine requests of the load-balancing check) stays well under this. */
const BLOCK_TIMEOUT_MS = 180_000;
const RETRY_PAUSE_MS = 1_000;
/** Long enough for the demo to print its series and send a few page views; it then runs `l4mesh down`. */
const DEMO_DURATION = '10s';
const DEMO_TIMEOUT_MS = 420_000;
const GUIDES = ['docs/tasks/tcp-metrics.md', 'docs/ops/troubleshooting-ztunnel.md'];
/** The node proxies' own Pods, which `up` records and `down` keeps for the next `up`. */
const MESH_PODS = ['pods/istio-system/ztunnel-node-1.json', 'pods/istio-system/ztunnel-node-2.json'];
/**
 * What the resource store may hold after a guide's cleanup: the TCP guide leaves `default` without its
 * labels; in netns mode the troubleshooting guide's `default` keeps its enrollment label too.
 */
const LEFT_AFTER_CLEANUP: Record<Variant, Record<string, string[]>> = {
  local: {
    'docs/tasks/tcp-metrics.md': ['namespaces/_cluster/default.json', ...MESH_PODS],
    'docs/ops/troubleshooting-ztunnel.md': MESH_PODS,
  },
  netns: {
    'docs/tasks/tcp-metrics.md': ['namespaces/_cluster/default.json', ...MESH_PODS],
    'docs/ops/troubleshooting-ztunnel.md': ['namespaces/_cluster/default.json', ...MESH_PODS],
  },
};
/** Commands the guides run besides l4mesh (Debian packages; scripts/test-setup.mjs installs prometheus). */
const TOOLS = ['bash', 'curl', 'jq', 'prometheus'];

/**
 * 127.3–127.9: a one-digit block keeps every address as long as the default layout's (127.7.3.5 and
 * 127.2.0.5 alike), so HTTP Host headers, and with them the byte counts the guides show, are the same.
 * Other tests use 127.20 and up; 127.1 and 127.2 belong to the default layout.
 */
const SHORT_BASES: Record<Variant, number[]> = { local: [3, 4, 5, 6], netns: [7, 8, 9] };

function free(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, ip, () => s.close(() => resolve(true)));
  });
}

/** The two variants run in two test files, which may run at once: each picks from its own blocks. */
export async function pickShortBase(variant: Variant): Promise<number> {
  for (const b of SHORT_BASES[variant]) if (await free(`127.${b}.0.254`, 15014)) return b;
  throw new Error(`no free address block among ${SHORT_BASES[variant].map((b) => `127.${b}`).join(', ')} (a control plane answers on 127.<b>.0.254:15014 in each)`);
}

export function runScript(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', script], { cwd: packageRoot(), env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b));
    child.stderr.on('data', (b: Buffer) => (stderr += b));
    const timer = setTimeout(() => child.kill('SIGKILL'), BLOCK_TIMEOUT_MS);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output: blockOutput(code, stdout, stderr) });
    });
  });
}

/** Blocks that matched only after a retry: a later failure may come from the extra traffic they sent. */
const retried: string[] = [];

/** One guide run's mesh: its address block, state dir and, in netns mode, its namespace prefix. */
export interface GuideMesh {
  base: number;
  stateDir: string;
  prefix?: string;
}

export async function runBlock(block: Block, mesh: GuideMesh, env: NodeJS.ProcessEnv, guide: string): Promise<void> {
  const addressed = rewriteAddresses(block.script, mesh.base);
  const script = mesh.prefix ? withNetnsPrefix(addressed, mesh.prefix) : addressed;
  const deadline = Date.now() + block.retryMs;
  for (let attempt = 1; ; attempt++) {
    const { code, output } = await runScript(script, env);
    const shown = toDefaultLayout(mesh.prefix ? toDefaultPrefix(output, mesh.prefix) : output, mesh.base);
    const problem = code !== 0 ? `exit ${code}:\n${output}` : compare(block.mode, block.expected, shown);
    if (!problem) {
      if (attempt > 1) retried.push(`${guide}:${block.line} after ${attempt} attempts`);
      return;
    }
    if (Date.now() >= deadline) {
      const note = retried.length > 0 ? `\n(blocks that needed retries before this one: ${retried.join('; ')})` : '';
      assert.fail(`${guide}:${block.line} (${block.mode}, attempt ${attempt}): ${block.script}\n${problem}${note}`);
    }
    await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
  }
}

/** Files in the resource store, relative to it (the store keeps one file per resource). */
export function storedResources(stateDir: string): string[] {
  const root = join(stateDir, 'resources');
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      // Resources are <kind>/<ns>/<name>.json; `revision` is the store's version counter, not a resource.
      else if (e.name.endsWith('.json')) out.push(relative(root, join(dir, e.name)));
    }
  };
  try {
    walk(root);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return out.sort();
}

export function runDemo(stateDir: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(packageRoot(), 'scripts', 'demo.mjs'), '--duration', DEMO_DURATION, '--port', '0', '--state-dir', stateDir], { cwd: packageRoot(), env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b));
    child.stderr.on('data', (b: Buffer) => (output += b));
    const timer = setTimeout(() => child.kill('SIGINT'), DEMO_TIMEOUT_MS);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** Runs the guides' blocks of `variant` in order on `mesh`, each guide's cleanup checked against the store. */
export async function runGuides(t: TestContext, variant: Variant, mesh: GuideMesh, env: NodeJS.ProcessEnv): Promise<void> {
  for (const guide of GUIDES) {
    await t.test(`every ${variant}-mode command in ${guide} runs and prints what the guide shows`, async () => {
      const blocks = blocksFor(parseGuide(readFileSync(join(packageRoot(), guide), 'utf8')), variant);
      assert.ok(blocks.filter((b) => b.mode !== 'skip' && b.mode !== 'exit').length >= 10, `only ${blocks.length} checked blocks in ${guide}`);
      for (const block of blocks) if (block.mode !== 'skip') await runBlock(block, mesh, env, guide);
      assert.deepEqual(storedResources(mesh.stateDir), LEFT_AFTER_CLEANUP[variant][guide], `${guide}'s cleanup left resources behind`);
    });
  }
}

export function missingTools(): string[] {
  return TOOLS.filter((c) => spawnSync('sh', ['-c', `command -v ${c}`], { stdio: 'ignore' }).status !== 0);
}

export function guideEnv(mesh: GuideMesh): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: `${join(packageRoot(), 'bin')}${delimiter}${process.env['PATH'] ?? ''}`,
    L4MESH_STATE_DIR: mesh.stateDir,
    L4MESH_LOCAL_NET: `127.${mesh.base}`,
  };
}

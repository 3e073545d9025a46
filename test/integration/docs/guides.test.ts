// Runs the command blocks of docs/tasks/tcp-metrics.md and docs/ops/troubleshooting-ztunnel.md in order,
// each guide against its own fresh mesh, and fails on a non-zero exit or on output whose shape no longer
// matches what the guide shows — so the guides cannot rot. Needs `npm run build` (bin/l4mesh and the
// Bookinfo pods run from dist/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { packageRoot } from '../../../src/config/paths.js';
import { cliMesh } from '../cli/cli-fixture.js';
import { compare, parseGuide, rewriteAddresses, type Block } from './guide-blocks.js';

/** One command block (e.g. the nine requests of the load-balancing check) stays well under this. */
const BLOCK_TIMEOUT_MS = 120_000;
const RETRY_PAUSE_MS = 1_000;

function runScript(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', script], { cwd: packageRoot(), env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b));
    child.stderr.on('data', (b: Buffer) => (stderr += b));
    const timer = setTimeout(() => child.kill('SIGKILL'), BLOCK_TIMEOUT_MS);
    child.once('close', (code) => {
      clearTimeout(timer);
      // stdout is what the guide shows; stderr only explains a failure.
      resolve({ code, output: code === 0 ? stdout : `${stdout}\n--- stderr ---\n${stderr}` });
    });
  });
}

async function runBlock(block: Block, base: number, env: NodeJS.ProcessEnv, guide: string): Promise<void> {
  const script = rewriteAddresses(block.script, base);
  const deadline = Date.now() + block.retryMs;
  for (;;) {
    const { code, output } = await runScript(script, env);
    const problem = code !== 0 ? `exit ${code}:\n${output}` : compare(block.mode, block.expected, output);
    if (!problem) return;
    if (Date.now() >= deadline) assert.fail(`${guide}:${block.line} (${block.mode}): ${block.script}\n${problem}`);
    await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
  }
}

for (const guide of ['docs/ops/troubleshooting-ztunnel.md', 'docs/tasks/tcp-metrics.md']) {
  test(`every command in ${guide} runs and prints what the guide shows`, { timeout: 600_000 }, async () => {
    const blocks = parseGuide(readFileSync(join(packageRoot(), guide), 'utf8'));
    assert.ok(blocks.filter((b) => b.mode !== 'skip').length >= 8, `only ${blocks.length} blocks found in ${guide}`);
    const mesh = await cliMesh();
    const env = {
      ...process.env,
      PATH: `${join(packageRoot(), 'bin')}${delimiter}${process.env['PATH'] ?? ''}`,
      L4MESH_STATE_DIR: mesh.stateDir,
      L4MESH_LOCAL_NET: `127.${mesh.base}`,
    };
    try {
      for (const block of blocks) if (block.mode !== 'skip') await runBlock(block, mesh.base, env, guide);
    } finally {
      await mesh.run(['down']).catch(() => undefined);
      await mesh.cleanup();
    }
  });
}

#!/usr/bin/env node
// `npm run demo`: makes sure dependencies are installed and the TypeScript is compiled (a fresh clone has
// neither), then runs the compiled demo (samples/bookinfo/demo/main.ts) with the same arguments.
// Plain JavaScript on purpose: it must run before anything is built.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const entry = join(root, 'dist', 'samples', 'bookinfo', 'demo', 'main.js');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** Newest modification time of the .ts files under `dir` (skipping node_modules and dist). */
function newestSource(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'dist' || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function step(what, args) {
  process.stdout.write(`==> ${what}\n`);
  execFileSync(npm, args, { cwd: root, stdio: 'inherit' });
}

if (!existsSync(join(root, 'node_modules', '@electric-sql', 'pglite-socket'))) step('npm ci (dependencies are missing)', ['ci']);
const sources = Math.max(...['src', 'samples'].map((d) => newestSource(join(root, d))));
if (!existsSync(entry) || statSync(entry).mtimeMs < sources) step('npm run build (dist is missing or older than the sources)', ['run', 'build']);

// The demo handles Ctrl-C itself (it shuts the mesh down); this wrapper only waits for it.
const child = spawn(process.execPath, [entry, ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

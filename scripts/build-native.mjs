// Builds the netns-mode addon (native/l4mesh_netns.c) with node-gyp as npm's `install` step. Optional:
// without a C toolchain, or on a build failure, it says so in one line and exits 0, because local mode
// needs no addon; `l4mesh up --mode netns` names what is missing when the addon is absent.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const nativeDir = join(root, 'native');

/** node-gyp is slow only on a cold machine; a wedged compiler must not hold `npm ci` forever. */
const BUILD_TIMEOUT_MS = 300_000;

function has(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** npm hands its own node-gyp to lifecycle scripts; outside npm, use the one npm ships. */
function nodeGyp() {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return fromNpm;
  const npmCli = process.env.npm_execpath;
  if (npmCli) {
    const bundled = join(dirname(npmCli), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    if (existsSync(bundled)) return bundled;
  }
  const system = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  return existsSync(system) ? system : undefined;
}

/** The headers of the running Node (Debian's /usr/include/node, or a tarball's include/node), so nothing is downloaded. */
function localNodeDir() {
  const prefix = dirname(dirname(process.execPath));
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

function skip(why) {
  process.stderr.write(`l4mesh: native addon not built (${why}); local mode works without it, \`l4mesh up --mode netns\` needs it\n`);
  process.exit(0);
}

function main() {
  if (process.platform !== 'linux') skip('netns mode is Linux only');
  const missing = ['cc', 'make', 'python3'].filter((c) => !has(c));
  if (missing.length > 0) skip(`missing ${missing.join(', ')}: install a C compiler (apt-get install -y g++ make python3) and rerun npm ci`);
  const gyp = nodeGyp();
  if (!gyp) skip('node-gyp not found beside npm');
  const args = [gyp, 'rebuild', '--directory', nativeDir, '--loglevel=error'];
  const nodedir = localNodeDir();
  if (nodedir) args.push(`--nodedir=${nodedir}`);
  const r = spawnSync(process.execPath, args, { cwd: nativeDir, encoding: 'utf8', timeout: BUILD_TIMEOUT_MS });
  if (r.status !== 0) {
    const output = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
    process.stderr.write(`${output}\n`);
    skip(`node-gyp failed (${r.error ? r.error.message : `exit ${r.status}`}); see the output above`);
  }
}

main();

// Installs the system packages the test suite runs against (npm's `pretest`), so no test touches the network.
// Each entry names the command or Python module a test needs and the Debian package that brings it; the
// tests import this module and ask the same `present()` before they run, so a skip says exactly what is missing.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The interpreter the Python tests run. Debian's python3-protobuf installs into /usr/bin/python3; a pyenv
 * shim or a venv first on PATH would not see it, so Debian's interpreter wins when it exists.
 */
export const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** Where Debian's chromium package puts the browser the console test drives. */
export const CHROMIUM = '/usr/bin/chromium';

/** What the suite needs from Debian, and how to tell it is already there. */
export const TEST_PACKAGES = [
  { pkg: 'prometheus', present: () => has('prometheus') },
  { pkg: 'python3-protobuf', present: () => spawnSync(PYTHON, ['-c', 'import google.protobuf'], { stdio: 'ignore' }).status === 0 },
  { pkg: 'curl', present: () => has('curl') },
  { pkg: 'jq', present: () => has('jq') },
  { pkg: 'postgresql-client', present: () => has('psql') && has('pgbench') },
  // h2load and nghttpd: interop of our HTTP/2 layer with nghttp2 (test/integration/h2/nghttp2.test.ts).
  { pkg: 'nghttp2-client', present: () => has('h2load') },
  { pkg: 'nghttp2-server', present: () => has('nghttpd') },
  // netns mode's namespaces, veths and in-pod rules (test/unit/netns, test/integration/netns; root only).
  { pkg: 'iproute2', present: () => has('ip') },
  { pkg: 'iptables', present: () => has('iptables') && has('iptables-save') },
  // Debian's Chromium, driven headless by playwright-core: the console's browser test (test/integration/console/).
  { pkg: 'chromium', present: () => existsSync(CHROMIUM) },
  // The lock on mutual-TLS edges is an emoji; without a colour emoji font Chromium draws an empty box.
  { pkg: 'fonts-noto-color-emoji', present: () => existsSync('/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf') },
  // etcd: the control plane's --store etcd, in test/integration/store/etcd-store.test.ts and controlplane/etcd-replicas.test.ts.
  { pkg: 'etcd-server', present: () => has('etcd') },
];

/** apt-get runs long on a cold cache; a hung mirror must not hold the suite forever. */
const APT_TIMEOUT_MS = 600_000;
/** Another apt-get (unattended upgrades, a second run) may hold dpkg's lock; wait for it instead of failing at once. */
const APT_LOCK_WAIT = ['-o', 'DPkg::Lock::Timeout=300'];

function has(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** Why a test that needs `pkg` skips when it is missing: names the setup that would have installed it. */
export function missingReason(pkg) {
  return `${pkg} is not installed; \`npm test\` installs it before the run (scripts/test-setup.mjs, npm's pretest: needs root and apt-get)`;
}

function main() {
  const missing = TEST_PACKAGES.filter((p) => !p.present()).map((p) => p.pkg);
  if (missing.length === 0) return;
  const reason = process.getuid?.() !== 0 ? 'not root' : !has('apt-get') ? 'no apt-get' : undefined;
  if (reason) {
    process.stderr.write(`test-setup: ${missing.join(', ')} missing and cannot be installed (${reason}); the tests that need them will say they skipped\n`);
    return;
  }
  process.stderr.write(`test-setup: installing ${missing.join(' ')} with apt-get\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', [...APT_LOCK_WAIT, 'update', '-qq'], { stdio: 'inherit', timeout: APT_TIMEOUT_MS, env });
    execFileSync('apt-get', [...APT_LOCK_WAIT, 'install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', timeout: APT_TIMEOUT_MS, env });
  } catch (err) {
    process.stderr.write(`test-setup: apt-get failed (${err.message.split('\n')[0]}); the tests that need ${missing.join(', ')} will say they skipped\n`);
  }
}

// Imported by tests for PYTHON and the checks; only `node scripts/test-setup.mjs` installs.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();

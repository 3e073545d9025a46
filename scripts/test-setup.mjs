// Installs the system packages the test suite runs against (npm's `pretest`), so no test touches the network.
// Each entry names the command or Python module a test needs and the Debian package that brings it.
import { execFileSync, spawnSync } from 'node:child_process';

/** What the suite needs from Debian, and how to tell it is already there. */
export const TEST_PACKAGES = [
  { pkg: 'prometheus', present: () => has('prometheus') },
  // h2load and nghttpd: interop of our HTTP/2 layer with nghttp2 (test/integration/h2/nghttp2.test.ts).
  { pkg: 'nghttp2-client', present: () => has('h2load') },
  { pkg: 'nghttp2-server', present: () => has('nghttpd') },
  { pkg: 'python3-protobuf', present: () => spawnSync('python3', ['-c', 'import google.protobuf'], { stdio: 'ignore' }).status === 0 },
];

/** apt-get runs long on a cold cache; a hung mirror must not hold the suite forever. */
const APT_TIMEOUT_MS = 600_000;

function has(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
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
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', timeout: APT_TIMEOUT_MS, env });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', timeout: APT_TIMEOUT_MS, env });
  } catch (err) {
    process.stderr.write(`test-setup: apt-get failed (${err.message.split('\n')[0]}); the tests that need ${missing.join(', ')} will say they skipped\n`);
  }
}

main();

// Makes sure the peers and load tools exist: Debian's stunnel4, haproxy, iperf3 and wrk are installed
// with apt-get when missing (as root). A tool that cannot be installed is reported, and its scenario skipped.
import { existsSync } from 'node:fs';
import { run } from '../proc.js';

/** Another apt-get (unattended upgrades, a test setup) may hold dpkg's lock; wait for it instead of skipping every peer. */
const APT_LOCK_WAIT = ['-o', 'DPkg::Lock::Timeout=300'];

/** Debian package → the binary that proves it is installed. */
const PACKAGES: Record<string, string[]> = {
  stunnel4: ['/usr/bin/stunnel4', '/usr/bin/stunnel'],
  haproxy: ['/usr/sbin/haproxy', '/usr/bin/haproxy'],
  iperf3: ['/usr/bin/iperf3'],
  wrk: ['/usr/bin/wrk'],
};

/** The Debian package a scenario's peer proxy comes from; undefined for the scenarios that need none. */
export function peerPackage(scenarioName: string): string | undefined {
  return scenarioName === 'stunnel' ? 'stunnel4' : scenarioName === 'haproxy' ? 'haproxy' : undefined;
}

export function binaryOf(pkg: string): string | undefined {
  return PACKAGES[pkg]?.find((p) => existsSync(p));
}

/**
 * Installs the missing ones of `wanted` (every peer and tool by default); returns the packages that are (now)
 * available, and logs one line for each of `wanted` that is not.
 */
export async function ensurePeers(log: (line: string) => void, wanted: readonly string[] = Object.keys(PACKAGES)): Promise<Set<string>> {
  const missing = wanted.filter((p) => !binaryOf(p));
  if (missing.length > 0) {
    if (process.getuid?.() !== 0) {
      log(`not root: cannot apt-get install ${missing.join(' ')}`);
    } else {
      log(`installing ${missing.join(' ')} with apt-get`);
      try {
        await run('apt-get', [...APT_LOCK_WAIT, 'update', '-qq'], 300_000);
        await run('apt-get', [...APT_LOCK_WAIT, 'install', '-y', '-qq', ...missing], 600_000);
      } catch (err) {
        log(`apt-get failed: ${(err as Error).message.split('\n').slice(0, 3).join(' ')}`);
      }
    }
  }
  const available = new Set(Object.keys(PACKAGES).filter((p) => binaryOf(p)));
  for (const p of wanted) if (!available.has(p)) log(`skipping what needs ${p}: it is not installed and could not be installed`);
  return available;
}

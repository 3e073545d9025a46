// Helpers for the root-only netns tests: why a test must skip, per-test unique namespace names, and
// running a short client program inside a namespace with `ip netns exec`.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../../src/config/paths.js';

/** A client run inside a namespace connects, sends a few bytes and reads a reply; this is plenty on a loaded box. */
const CLIENT_TIMEOUT_MS = 30_000;

function has(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Why a netns test cannot run here, or undefined when it can. Stated in the skip so a run without root
 * says so instead of passing silently.
 */
export function netnsSkipReason(needs: { iptables?: boolean; addon?: boolean; commands?: readonly string[] } = {}): string | undefined {
  if (process.platform !== 'linux') return `netns tests need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'netns tests need root (they create network namespaces); run the suite as root';
  if (!has('ip')) return 'netns tests need iproute2 (`ip`); scripts/test-setup.mjs installs it';
  if (needs.iptables && !has('iptables')) return 'this netns test needs iptables; scripts/test-setup.mjs installs it';
  if (needs.addon && !existsSync(join(packageRoot(), 'native', 'build', 'Release', 'l4mesh_netns.node'))) {
    return 'the netns addon is not built (native/build/Release/l4mesh_netns.node); npm ci builds it when a C compiler is present';
  }
  const missing = (needs.commands ?? []).filter((c) => !has(c));
  if (missing.length > 0) return `this netns test runs ${missing.join(', ')}, not installed here (scripts/test-setup.mjs installs curl)`;
  return undefined;
}

/** `l4m-t<random>`: a prefix unique to one test, so tests of parallel runs never share a namespace. */
export function uniqueTestPrefix(): string {
  return `l4m-t${randomBytes(3).toString('hex')}`;
}

/** Runs `ip ...args` and returns its stdout; throws with stderr on failure. */
export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs a command inside namespace `netns` and returns its stdout. */
export function inNetns(netns: string, command: string, ...args: string[]): string {
  return execFileSync('ip', ['netns', 'exec', netns, command, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** What the in-namespace TCP client saw: the bytes it got back, or the error code of its connect. */
export interface ClientResult {
  reply: string;
  error?: string;
}

/** Connects from inside `netns` to host:port, sends `payload`, half-closes, and returns what came back. */
export function tcpClientInNetns(netns: string, host: string, port: number, payload: string): Promise<ClientResult> {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'netns-tcp-client.js');
  return new Promise((resolve, reject) => {
    execFile('ip', ['netns', 'exec', netns, process.execPath, script, host, String(port), payload],
      { encoding: 'utf8', timeout: CLIENT_TIMEOUT_MS }, (err, stdout, stderr) => {
        if (err && typeof (err as { code?: unknown }).code !== 'number') return reject(new Error(`client in ${netns}: ${err.message} ${stderr}`));
        try {
          resolve(JSON.parse(stdout) as ClientResult);
        } catch {
          reject(new Error(`client in ${netns} printed no result: ${stdout} ${stderr}`));
        }
      });
  });
}

/** What the host shows of namespaces, links, /etc/netns and iptables, minus other tests' `l4m-t*` namespaces. */
export function hostNetworkSnapshot(ownPrefix: string): Record<string, string> {
  const foreignTest = (name: string) => /^l4m-t[0-9a-f]{6}-/.test(name) && !name.startsWith(`${ownPrefix}-`);
  const netns = ip('netns', 'list').split('\n').filter((l) => l && !foreignTest(l)).join('\n');
  const etc = existsSync('/etc/netns') ? readdirSync('/etc/netns').filter((n) => !foreignTest(n)).sort().join('\n') : '';
  // iptables-save stamps each table with the time it ran; everything else must be identical.
  const iptables = execFileSync('iptables-save', { encoding: 'utf8' }).split('\n').filter((l) => !l.startsWith('#')).join('\n');
  return { netns, links: ip('-o', 'link', 'show'), etc, iptables };
}

/** Runs a command inside `netns` without blocking this process's event loop (its servers must keep accepting). */
export function runInNetns(netns: string, command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ip', ['netns', 'exec', netns, command, ...args], { encoding: 'utf8', timeout: CLIENT_TIMEOUT_MS }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${command} in ${netns}: ${err.message} ${stderr}`));
      else resolve(stdout);
    });
  });
}

/**
 * A TCP exchange from inside `netns` on a socket carrying SO_MARK `mark` (what the node proxy's own
 * sockets do), through Python's socket module so the test does not depend on the addon under test.
 */
export function markedTcpClientInNetns(netns: string, mark: number, host: string, port: number, payload: string): Promise<string> {
  const script = [
    'import socket, sys',
    's = socket.socket()',
    `s.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, ${mark})`,
    's.settimeout(20)',
    `s.connect((${JSON.stringify(host)}, ${port}))`,
    `s.sendall(${JSON.stringify(payload)}.encode())`,
    's.shutdown(socket.SHUT_WR)',
    'data = b""',
    'while True:',
    '    c = s.recv(4096)',
    '    if not c: break',
    '    data += c',
    'sys.stdout.write(data.decode())',
  ].join('\n');
  return runInNetns(netns, 'python3', ['-c', script]);
}

/** `count` concurrent connections from inside `netns` to host:(basePort+i), each sending `i`; the replies in order. */
export async function tcpBurstInNetns(netns: string, host: string, basePort: number, count: number): Promise<string[]> {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'netns-tcp-burst.js');
  return JSON.parse(await runInNetns(netns, process.execPath, [script, host, String(basePort), String(count)])) as string[];
}

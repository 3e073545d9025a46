// Who listens where: a bind test for "is this port free", and on Linux the process that owns a TCP
// listener (/proc/net/tcp inodes matched against /proc/<pid>/fd), so `up` and `status` never take
// another process's answer for their own component's.
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';

export interface Listener {
  address: string;
  port: number;
}

export function formatListener(l: Listener): string {
  return `${l.address}:${l.port}`;
}

/** Resolves undefined when `address:port` can be bound now, else the bind error's code (EADDRINUSE, EADDRNOTAVAIL, ...). */
export function bindError(l: Listener): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    s.listen({ host: l.address, port: l.port, exclusive: true }, () => s.close(() => resolve(undefined)));
  });
}

/** /proc/net/tcp writes an IPv4 address as the hex of its 32-bit value in host (little-endian) order. */
function hexToIpv4(hex: string): string {
  const n = parseInt(hex, 16);
  return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join('.');
}

/** Socket inodes of the TCP listeners on `l` (or on 0.0.0.0 at its port, which holds it too); undefined without /proc. */
function listenerInodes(l: Listener): Set<string> | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/net/tcp', 'utf8');
  } catch {
    return undefined;
  }
  const inodes = new Set<string>();
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // f[1] local address, f[3] state (0A = LISTEN), f[9] inode
    if (f.length < 10 || f[3] !== '0A') continue;
    const [ipHex, portHex] = f[1]!.split(':');
    const ip = hexToIpv4(ipHex!);
    if (parseInt(portHex!, 16) === l.port && (ip === l.address || ip === '0.0.0.0')) inodes.add(f[9]!);
  }
  return inodes;
}

function socketInodesOf(pid: number): Set<string> {
  const out = new Set<string>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return out;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.add(m[1]!);
    } catch {
      // the fd closed meanwhile
    }
  }
  return out;
}

/** true/false: whether `pid` holds the listener on `l`; undefined where /proc cannot tell (not Linux). */
export function ownsListener(pid: number, l: Listener): boolean | undefined {
  const inodes = listenerInodes(l);
  if (!inodes || !existsSync(`/proc/${pid}/fd`)) return undefined;
  if (inodes.size === 0) return false;
  for (const i of socketInodesOf(pid)) if (inodes.has(i)) return true;
  return false;
}

export interface ListenerOwner {
  pid: number;
  /** The owner's argv, as /proc/<pid>/cmdline gives it. */
  argv: string[];
}

/** The process listening on `l`, if /proc shows it (other users' processes are visible to root only). */
export function listenerOwner(l: Listener): ListenerOwner | undefined {
  const inodes = listenerInodes(l);
  if (!inodes || inodes.size === 0) return undefined;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return undefined;
  }
  for (const p of pids) {
    const pid = Number(p);
    if (pid === process.pid) continue;
    for (const i of socketInodesOf(pid)) {
      if (!inodes.has(i)) continue;
      let argv: string[] = [];
      try {
        argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      } catch {
        // exited meanwhile: the pid still names it
      }
      return { pid, argv };
    }
  }
  return undefined;
}

/** The `--state-dir` an l4mesh component was started with, read from its argv. */
export function stateDirOf(argv: string[]): string | undefined {
  const i = argv.indexOf('--state-dir');
  return i >= 0 ? argv[i + 1] : undefined;
}

// The typed fence around the netns addon (native/l4mesh_netns.c): sockets opened inside another network
// namespace, SO_ORIGINAL_DST and SO_MARK. The only module that loads the addon or reads a socket's fd.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, Socket, type Server } from 'node:net';
import { join } from 'node:path';
import { packageRoot } from '../../../config/paths.js';
import { L4meshError } from '../../../errors/index.js';
import { adoptAccepted } from '../../pooled-reads.js';
import { NETNS_RUN_DIR } from './plan.js';

/** What the C side exports; argument checks live there too, so a wrong call throws rather than crashes. */
interface NetnsAddon {
  openInNetns(nsPath: string, kind: 'tcp' | 'udp', ip: string, port: number, mark: number, backlog: number): number;
  originalDst(fd: number): { address: string; port: number };
  setMark(fd: number, mark: number): void;
  getMark(fd: number): number;
}

/** The address a REDIRECTed connection was sent to before iptables turned it to the proxy. */
export interface OriginalDestination {
  address: string;
  port: number;
}

/** Where node-gyp leaves the addon (scripts/build-native.mjs builds it during npm ci). */
const ADDON_RELATIVE_PATH = join('native', 'build', 'Release', 'l4mesh_netns.node');
/** Listeners take the kernel's usual default; the proxy accepts quickly, so a deep queue buys nothing. */
const DEFAULT_BACKLOG = 511;
/** What the operator must do when the addon is absent, said once so every message agrees. */
export const ADDON_MISSING_HINT =
  'up --mode netns needs the native addon: install a C compiler (g++/make/python3) and rerun npm ci';

let addon: NetnsAddon | undefined;

/**
 * Loads the addon and checks the process may use it. Throws L4MESH_ERR_NETNS_UNAVAILABLE naming what is
 * missing: Linux, root, or the built addon.
 */
export function netnsAddon(): NetnsAddon {
  if (addon) return addon;
  if (process.platform !== 'linux') {
    throw new L4meshError('L4MESH_ERR_NETNS_UNAVAILABLE', `netns mode needs Linux network namespaces; this is ${process.platform} (use local mode)`);
  }
  if (process.getuid?.() !== 0) {
    throw new L4meshError('L4MESH_ERR_NETNS_UNAVAILABLE', 'netns mode needs root (it creates network namespaces and iptables rules); rerun as root, or use local mode');
  }
  const path = join(packageRoot(), ADDON_RELATIVE_PATH);
  if (!existsSync(path)) throw new L4meshError('L4MESH_ERR_NETNS_UNAVAILABLE', `${ADDON_MISSING_HINT} (${path} is missing)`);
  try {
    addon = createRequire(import.meta.url)(path) as NetnsAddon;
  } catch (err) {
    throw new L4meshError('L4MESH_ERR_NETNS_UNAVAILABLE', `${ADDON_MISSING_HINT} (${path} does not load: ${(err as Error).message})`, { cause: err });
  }
  return addon;
}

/** The file `ip netns add NAME` made for a namespace. */
export function netnsPath(name: string): string {
  return join(NETNS_RUN_DIR, name);
}

function netnsError(what: string, netns: string, err: unknown): L4meshError {
  const e = err as NodeJS.ErrnoException;
  const hint = e.code === 'ENOENT' ? ` (no namespace ${netns}: is the mesh up? \`ip netns list\`)`
    : e.code === 'EADDRINUSE' ? ' (something in that namespace already listens there)'
      : e.code === 'EADDRNOTAVAIL' ? ' (that address is not on an interface of the namespace)' : '';
  return new L4meshError('L4MESH_ERR_NETNS', `${what} in netns ${netns}: ${e.message}${hint}`, { cause: err });
}

export interface NetnsListenOptions {
  /** SO_MARK on the socket (the proxy's own sockets carry PROXY_SOCKET_MARK). */
  mark?: number;
  backlog?: number;
  /** As net.createServer's: accepted sockets start paused (the data path switches them to pooled reads first). */
  pauseOnConnect?: boolean;
  noDelay?: boolean;
}

/**
 * A listening TCP socket on ip:port inside namespace `netns`, as an fd for a server of the caller's
 * (`server.listen({ fd })`): the node proxy's in-pod HBONE listener on the pod IP.
 */
export function listeningFdInNetns(netns: string, ip: string, port: number, opts: Pick<NetnsListenOptions, 'mark' | 'backlog'> = {}): number {
  try {
    return netnsAddon().openInNetns(netnsPath(netns), 'tcp', ip, port, opts.mark ?? 0, opts.backlog ?? DEFAULT_BACKLOG);
  } catch (err) {
    if (err instanceof L4meshError) throw err;
    throw netnsError(`listen on ${ip}:${port}`, netns, err);
  }
}

/** A TCP server listening on ip:port inside namespace `netns`; it accepts there, never in the caller's. */
export async function listenTcpInNetns(netns: string, ip: string, port: number, opts: NetnsListenOptions = {}): Promise<Server> {
  const fd = listeningFdInNetns(netns, ip, port, opts);
  const server = createServer({ pauseOnConnect: opts.pauseOnConnect ?? false, noDelay: opts.noDelay ?? false });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ fd }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

/** A UDP socket bound to ip:port inside namespace `netns` (the in-pod DNS listener). */
export async function bindUdpInNetns(netns: string, ip: string, port: number, opts: { mark?: number } = {}): Promise<UdpSocket> {
  let fd: number;
  try {
    fd = netnsAddon().openInNetns(netnsPath(netns), 'udp', ip, port, opts.mark ?? 0, 1);
  } catch (err) {
    if (err instanceof L4meshError) throw err;
    throw netnsError(`bind udp ${ip}:${port}`, netns, err);
  }
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ fd }, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  return socket;
}

export interface NetnsConnectOptions {
  /** The source address (the pod IP); the kernel picks the port. */
  localIp: string;
  host: string;
  port: number;
  /** SO_MARK on the socket: PROXY_SOCKET_MARK keeps the pod's own rules from capturing it again. */
  mark?: number;
  /** Bound on the connect; unset, the kernel's own (minutes) applies. */
  timeoutMs?: number;
  /**
   * Read through the shared buffer (dataplane/pooled-reads.ts), as dialTcp's sockets to workloads do: only
   * for a socket handed straight to splice(), never one a TLS session will wrap.
   */
  pooledReads?: boolean;
}

/**
 * A TCP connection made from inside namespace `netns` (the proxy's HBONE and plain-TCP dials out of a pod).
 * The addon makes a bound socket there; Node adopts it unstarted (`manualStart`, so nothing reads an
 * unconnected socket) and connects it as usual, so errors and timeouts are Node's own.
 */
export function connectFromNetns(netns: string, opts: NetnsConnectOptions): Promise<Socket> {
  let fd: number;
  try {
    fd = netnsAddon().openInNetns(netnsPath(netns), 'tcp', opts.localIp, 0, opts.mark ?? 0, 0);
  } catch (err) {
    if (err instanceof L4meshError) return Promise.reject(err);
    return Promise.reject(netnsError(`bind ${opts.localIp} for a connection to ${opts.host}:${opts.port}`, netns, err));
  }
  // allowHalfOpen: the data path passes a FIN on by itself (splice), as with every other upstream socket.
  const socket = new Socket({ fd, manualStart: true, allowHalfOpen: true } as ConstructorParameters<typeof Socket>[0]);
  // Before connect(), which starts reading: the handle must read into the shared buffer from its first byte.
  if (opts.pooledReads) adoptAccepted(socket);
  return new Promise((resolve, reject) => {
    const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => {
      socket.destroy();
      reject(new L4meshError('L4MESH_ERR_CONNECT_TIMEOUT', `connection from netns ${netns} to ${opts.host}:${opts.port} timed out after ${opts.timeoutMs} ms`));
    }, opts.timeoutMs);
    const onError = (err: Error) => {
      clearTimeout(timer);
      reject(err);
    };
    socket.once('error', onError);
    socket.connect({ host: opts.host, port: opts.port }, () => {
      clearTimeout(timer);
      socket.off('error', onError);
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}

/**
 * A socket made inside `netns` and already connecting to host:port, returned at once (node:http's
 * createConnection wants one synchronously), bound to `from` when given (an `l4mesh check` probe from a
 * pod's IP and a port its proxy was told to trace). A failure to make it arrives as the socket's 'error'.
 */
export function connectingSocketInNetns(netns: string, host: string, port: number, from: { ip: string; port: number } = { ip: '0.0.0.0', port: 0 }): Socket {
  let fd: number;
  try {
    fd = netnsAddon().openInNetns(netnsPath(netns), 'tcp', from.ip, from.port, 0, 0);
  } catch (err) {
    const failed = new Socket();
    const error = err instanceof L4meshError ? err : netnsError(`connect to ${host}:${port}`, netns, err);
    process.nextTick(() => failed.destroy(error));
    return failed;
  }
  const socket = new Socket({ fd, manualStart: true } as ConstructorParameters<typeof Socket>[0]);
  socket.connect({ host, port });
  return socket;
}

/**
 * The fd under a connected net.Socket. Node does not expose it; `_handle.fd` is libuv's descriptor on
 * Linux. Checked on every use, so a Node that changes it fails here with a clear message, not later.
 */
function socketFd(socket: Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) {
    throw new L4meshError('L4MESH_ERR_INTERNAL', `cannot read the fd of a socket on Node ${process.version} (socket closed, or _handle.fd changed)`);
  }
  return fd;
}

/** Where the peer of `socket` was really connecting before an iptables REDIRECT sent it to us. */
export function originalDestination(socket: Socket): OriginalDestination {
  try {
    return netnsAddon().originalDst(socketFd(socket));
  } catch (err) {
    if (err instanceof L4meshError) throw err;
    throw new L4meshError('L4MESH_ERR_NETNS', `reading SO_ORIGINAL_DST: ${(err as Error).message} (was the connection redirected by the in-pod rules?)`, { cause: err });
  }
}

/** Marks `socket` so the in-pod rules pass its packets through (the proxy's own connections). */
export function markSocket(socket: Socket, mark: number): void {
  netnsAddon().setMark(socketFd(socket), mark);
}

/** The SO_MARK of `socket` (0 when none). */
export function socketMark(socket: Socket): number {
  return netnsAddon().getMark(socketFd(socket));
}

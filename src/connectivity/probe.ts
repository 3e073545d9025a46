// The real probe of `l4mesh check connectivity`: one TCP connection from the source workload's place in the
// mesh (its outbound listener, its pod's namespace, or plaintext from outside the mesh), what happened to it,
// and the access-log lines the node proxies wrote for it.
import { connect, createServer, type Socket } from 'node:net';
import { readFile } from 'node:fs/promises';
import type { Hop } from './path.js';

/** How long an accepted connection must stay open before the tunnel behind it counts as established. */
export const PROBE_HOLD_MS = 1_500;
/** Bound on a connect to the listener (loopback: anything longer means the proxy is stuck). */
const CONNECT_TIMEOUT_MS = 5_000;

export interface ProbeResult {
  /** `answered`: the probe sent a request and the server answered and closed cleanly (HTTP with `connection: close`). */
  outcome: 'held' | 'answered' | 'reset' | 'closed' | 'refused' | 'timeout';
  /** Bytes the destination sent first (server-first protocols such as PostgreSQL's are not among them: it waits). */
  bytesReceived: number;
  elapsedMs: number;
  startedAt: number;
  /** The probe socket's local port: the proxies log it in `src.addr` (the destination sees the source pod's IP with it). */
  localPort?: number;
  /** Bytes the probe wrote (its request, when it sent one). */
  bytesSent: number;
  /** The first line the server answered with (an HTTP status line), when it answered. */
  firstLine?: string;
  /** A node proxy's answer to the CONNECT preamble (`HTTP/1.1 401 Unauthorized`), when one was sent. */
  proxyAnswer?: string;
  /** The local port was taken between choosing and binding it: the caller picks another. */
  addressInUse?: boolean;
}

export interface ProbeOptions {
  /** Connect from this address and port: the proxy was told to trace the connection from there. */
  localAddress?: string;
  localPort?: number;
  /** Written once connected (an HTTP request to an HTTP port), so bytes flow both ways. */
  payload?: string;
  /**
   * Written before the payload: an HTTP/1.1 CONNECT to a node proxy's plaintext INBOUND_PORT (local mode's
   * way in from outside the mesh). The proxy's answer to it is reported apart and not counted as received.
   */
  preamble?: string;
  /** Makes the connecting socket (netns mode: inside the source pod's namespace); default node:net's connect. */
  open?(target: ProbeTarget, local: { address?: string; port?: number }): Socket;
}

/** Where the probe connects: a local-mode outbound listener, a VIP or pod IP (netns), a node proxy's INBOUND_PORT. */
export interface ProbeTarget {
  host: string;
  port: number;
}

/** The address the probe connects from when the source proxy is told to trace it. */
export const PROBE_LOCAL_ADDRESS = '127.0.0.1';

/** A free port on `address` to connect from (the kernel's pick, released just before the probe binds it). */
export function freeLocalPort(address = PROBE_LOCAL_ADDRESS): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, address, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** One HTTP/1.1 request for an HTTP port: the server answers and closes, so both directions carry bytes. */
export function httpProbeRequest(hostname: string): string {
  return `GET / HTTP/1.1\r\nhost: ${hostname}\r\nuser-agent: l4mesh-check\r\nconnection: close\r\n\r\n`;
}

/** The CONNECT a client outside the mesh sends to a node proxy's INBOUND_PORT in local mode. */
export function plaintextConnectPreamble(address: string, port: number): string {
  return `CONNECT ${address}:${port} HTTP/1.1\r\nhost: ${address}:${port}\r\n\r\n`;
}

/** Splits off the proxy's answer to a CONNECT preamble, once its head is complete. */
function splitProxyAnswer(buffered: Buffer): { answer: string; rest: Buffer } | undefined {
  const end = buffered.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const head = buffered.toString('latin1', 0, end);
  return { answer: head.slice(0, head.includes('\r\n') ? head.indexOf('\r\n') : head.length), rest: buffered.subarray(end + 4) };
}

function defaultOpen(target: ProbeTarget, local: { address?: string; port?: number }): Socket {
  return connect({ host: target.host, port: target.port, ...(local.address ? { localAddress: local.address } : {}), ...(local.port ? { localPort: local.port } : {}) });
}

/** Connects to `target`, holds the connection PROBE_HOLD_MS unless it ends first, then closes it. */
export function probe(target: ProbeTarget, options: ProbeOptions = {}): Promise<ProbeResult> {
  const startedAt = Date.now();
  return new Promise((resolve) => {
    let bytesReceived = 0;
    let bytesSent = 0;
    let head = '';
    let done = false;
    let closing = false;
    let localPort: number | undefined;
    // With a preamble, the proxy's own answer comes first: held until its head is complete.
    let proxyAnswer: string | undefined;
    let pending: Buffer | undefined = options.preamble ? Buffer.alloc(0) : undefined;
    const socket = (options.open ?? defaultOpen)(target, { ...(options.localAddress ? { address: options.localAddress } : {}), ...(options.localPort ? { port: options.localPort } : {}) });
    let addressInUse = false;
    const finish = (outcome: ProbeResult['outcome']) => {
      if (done) return;
      done = true;
      clearTimeout(connectTimer);
      clearTimeout(holdTimer);
      socket.destroy();
      const firstLine = head.includes('\r\n') ? head.slice(0, head.indexOf('\r\n')) : undefined;
      // A connection the proxy resets at once can end before 'connect' is emitted: the bound port is still ours.
      localPort ??= options.localPort;
      resolve({
        outcome, bytesReceived, bytesSent, elapsedMs: Date.now() - startedAt, startedAt,
        ...(localPort !== undefined ? { localPort } : {}), ...(firstLine ? { firstLine } : {}), ...(proxyAnswer ? { proxyAnswer } : {}), ...(addressInUse ? { addressInUse } : {}),
      });
    };
    const connectTimer = setTimeout(() => finish('timeout'), CONNECT_TIMEOUT_MS);
    let holdTimer: NodeJS.Timeout | undefined;
    socket.once('connect', () => {
      clearTimeout(connectTimer);
      localPort = socket.localPort;
      if (options.preamble) socket.write(options.preamble);
      if (options.payload) {
        bytesSent = Buffer.byteLength(options.payload);
        socket.write(options.payload);
      }
      holdTimer = setTimeout(() => {
        // A clean close after the hold: the proxy logs the connection as complete.
        closing = true;
        socket.end();
        socket.once('close', () => finish('held'));
        setTimeout(() => finish('held'), 2_000).unref();
      }, PROBE_HOLD_MS);
    });
    const received = (b: Buffer) => {
      bytesReceived += b.length;
      if (head.length < 256) head += b.toString('latin1', 0, Math.min(b.length, 256));
    };
    socket.on('data', (b: Buffer) => {
      if (!pending) return received(b);
      pending = Buffer.concat([pending, b]);
      const split = splitProxyAnswer(pending);
      if (!split) return;
      pending = undefined;
      proxyAnswer = split.answer;
      if (split.rest.length) received(split.rest);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      // A socket made in a pod's namespace reports the bind's errno as the cause of an L4meshError.
      addressInUse = err.code === 'EADDRINUSE' || (err.cause as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE';
      finish(err.code === 'ECONNREFUSED' ? 'refused' : err.code === 'ECONNRESET' ? 'reset' : 'closed');
    });
    socket.once('end', () => finish(closing ? 'held' : options.payload && bytesReceived > 0 ? 'answered' : 'closed'));
  });
}

export interface AccessLine {
  node: string;
  fields: Record<string, string>;
  text: string;
}

/** `key=value` and `key="quoted value"` pairs of one ztunnel-style log line. */
/** The port of an `ip:port` field (`[v6]:port` too). */
export function portOf(addr: string | undefined): number | undefined {
  const m = addr ? /:(\d+)$/.exec(addr) : null;
  return m ? Number(m[1]) : undefined;
}

export function parseLogFields(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of line.matchAll(/([a-z_.]+)=(?:"((?:[^"\\]|\\.)*)"|(\S+))/g)) out[m[1]!] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!;
  return out;
}

/**
 * How far before the probe's start a line's timestamp may lie. Proxies stamp lines from their monotonic
 * clock (`performance.timeOrigin + now()`), which drifts from this process's `Date.now()` when the wall
 * clock is stepped, so a strict comparison could drop the line of a probe refused within milliseconds.
 * The source port in `match` is what identifies the probe; the time only skips old lines.
 */
export const LOG_CLOCK_SLACK_MS = 2_000;

/** The access-log lines (`connection complete`) of `files` stamped after `sinceMs` (less the slack) that `match` accepts. */
export async function accessLines(files: ReadonlyArray<{ node: string; file: string }>, sinceMs: number, match: (f: Record<string, string>) => boolean): Promise<AccessLine[]> {
  const out: AccessLine[] = [];
  for (const { node, file } of files) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      if (!line.includes('connection complete')) continue;
      const at = Date.parse(line.split(/\s/, 1)[0]!);
      if (!(at >= sinceMs - LOG_CLOCK_SLACK_MS)) continue;
      const fields = parseLogFields(line);
      if (match(fields)) out.push({ node, fields, text: line });
    }
  }
  return out;
}

/** Which hop an access-log `error=` belongs to, and what it most likely means (the error itself is shown beside it). */
export function hopOfError(error: string): Pick<Hop, 'step' | 'cause'> {
  const e = error.toLowerCase();
  if (e.includes('not defined by any destinationrule')) return { step: 'waypoint', cause: 'a VirtualService routes to a subset no DestinationRule defines: every request routed there is answered 503 (l4mesh analyze reports it as IST0101)' };
  if (e.includes('no healthy upstream')) return { step: 'endpoints', cause: 'no healthy endpoint when the connection arrived' };
  if (e.includes('denied') || e.includes('policy')) return { step: 'policy', cause: "the destination's authorization policy refused the connection (the error names the policy)" };
  if (e.includes('refused') || e.includes('os error 111')) return { step: 'dial', cause: "nothing listens on the workload's port: the process is down or listens on another port" };
  if (e.includes('tls') || e.includes('certificate') || e.includes('identity')) return { step: 'tunnel', cause: "the HBONE handshake failed or the peer's certificate was refused" };
  if (e.includes('timed out') || e.includes('deadline')) return { step: 'tunnel', cause: 'the destination node proxy did not answer in time' };
  if (e.includes('waypoint')) return { step: 'waypoint', cause: 'the waypoint refused the connection or could not carry it' };
  return { step: 'dial', cause: "see the node proxy's log around this line" };
}

// Proves at proxy start that pooled reads work on the running Node: bytes go both ways through a loopback
// socket pair, one side dialed with connectPooled(), the other accepted and adopted, and must arrive
// intact. Any failure turns pooled reads off for the process and says why in one warn line.
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../logging/logger.js';
import { adoptAccepted, connectPooled, disablePooledReads, markPooledReadsTested, onChunks, pooledReadsStatus, READ_BUFFER_BYTES, type PooledReadsStatus } from './pooled-reads.js';

/** More than one read's worth each way, so the shared buffer is reused between reads of both sockets. */
const PROBE_BYTES = 3 * READ_BUFFER_BYTES + 4_321;
/** A loopback exchange of ~200 KiB takes milliseconds; this only bounds a wedged one on a loaded box. */
const SELF_TEST_TIMEOUT_MS = 10_000;

export interface SelfTestOptions {
  /** Called on the accepted socket before adoption; tests use it to take Node internals away. */
  beforeAdopt?: (socket: Socket) => void;
  timeoutMs?: number;
}

/** Different patterns per direction, so bytes read from the wrong place cannot look right. */
function pattern(length: number, step: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = (i * step + 7) % 251;
  return out;
}

/** Collects what arrives through pooled reads until `length` bytes are in (copied out of the slabs). */
function collect(socket: Socket, length: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let have = 0;
    onChunks(socket, (chunk) => {
      parts.push(Buffer.from(chunk.bytes));
      chunk.release();
      have += chunk.bytes.length;
      if (have >= length) resolve(Buffer.concat(parts));
    });
  });
}

function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

/** The exchange; every socket it opens goes into `sockets`, which the caller destroys. */
async function exchange(server: Server, sockets: Socket[], options: SelfTestOptions): Promise<string | undefined> {
  const toServer = pattern(PROBE_BYTES, 3);
  const toClient = pattern(PROBE_BYTES, 5);
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as { port: number };
  const client = connectPooled({ host: '127.0.0.1', port });
  sockets.push(client);
  client.on('error', () => undefined);
  const serverSide = await accepted;
  sockets.push(serverSide);
  serverSide.on('error', () => undefined);
  options.beforeAdopt?.(serverSide);
  if (!adoptAccepted(serverSide)) return pooledReadsStatus().reason ?? 'an accepted socket could not be adopted';
  const atServer = collect(serverSide, PROBE_BYTES);
  const atClient = collect(client, PROBE_BYTES);
  client.write(toServer);
  serverSide.write(toClient);
  const [gotAtServer, gotAtClient] = await Promise.all([atServer, atClient]);
  if (!gotAtServer.equals(toServer)) {
    return `bytes read through an adopted socket differ from those sent (first difference at byte ${firstDifference(gotAtServer, toServer)} of ${PROBE_BYTES})`;
  }
  if (!gotAtClient.equals(toClient)) {
    return `bytes read through a pooled dial differ from those sent (first difference at byte ${firstDifference(gotAtClient, toClient)} of ${PROBE_BYTES})`;
  }
  return undefined;
}

/**
 * Runs the exchange once; on failure turns pooled reads off and logs why at warn level. Resolves to the
 * resulting status (also what /config_dump shows).
 */
export async function checkPooledReads(log: Logger, options: SelfTestOptions = {}): Promise<PooledReadsStatus> {
  if (!pooledReadsStatus().active) return pooledReadsStatus();
  const server = createServer({ pauseOnConnect: true });
  let timer: NodeJS.Timeout | undefined;
  const timeoutMs = options.timeoutMs ?? SELF_TEST_TIMEOUT_MS;
  const timedOut = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`the loopback exchange did not complete within ${timeoutMs} ms`), timeoutMs);
  });
  const sockets: Socket[] = [];
  let problem: string | undefined;
  try {
    problem = await Promise.race([exchange(server, sockets, options), timedOut]);
  } catch (err) {
    problem = `the loopback exchange failed: ${(err as Error).message}`;
  } finally {
    clearTimeout(timer);
    for (const s of sockets) s.destroy();
    server.close();
  }
  if (problem === undefined) {
    markPooledReadsTested();
  } else {
    disablePooledReads(problem);
    log.warn('pooled reads are off, sockets read the usual way (one new buffer per read: more GC under load)', { reason: problem });
  }
  return pooledReadsStatus();
}

// The database's public listener: answers a client's encryption negotiation as a PostgreSQL server without
// TLS does ('N' to SSLRequest and to GSSENCRequest), turns away clients over the connection limit with
// PostgreSQL's own error, ends a client that sends something no client sends (PGlite would spin on it and
// stop serving everyone), and pipes everything else to the PGlite socket server behind it.
import { connect, createServer, type Server, type Socket } from 'node:net';

/** The 8-byte requests a libpq client may send before its StartupMessage: length 8, then a code. */
export const SSL_REQUEST_CODE = 80877103;
export const GSSENC_REQUEST_CODE = 80877104;
const NEGOTIATION_LENGTH = 8;
/** A server without TLS or GSSAPI encryption answers one byte; libpq then goes on in plain text. */
const REFUSE_ENCRYPTION = Buffer.from('N');
/** libpq sends at most a GSSENCRequest and an SSLRequest; a client that keeps negotiating is broken. */
const MAX_NEGOTIATIONS = 2;
/** The message types a client may send after its startup packet (protocol 3.0). */
const FRONTEND_TYPES = new Set([...'BCcDdEFfHPpQSX'].map((c) => c.charCodeAt(0)));
/** SQLSTATE protocol_violation, as PostgreSQL answers a message type it does not know. */
const PROTOCOL_VIOLATION = '08P01';
/** SQLSTATE too_many_connections, with the message PostgreSQL itself sends. */
const TOO_MANY_CONNECTIONS = { code: '53300', message: 'sorry, too many clients already' };

export interface PostgresFrontOptions {
  host: string;
  port: number;
  /** Where the PGlite socket server listens (a Unix socket path). */
  backendPath: string;
  /** Connections served at once; one more gets SQLSTATE 53300 after its startup packet. */
  maxConnections: number;
}

/** An ErrorResponse ('E') with severity, SQLSTATE and message fields, as a backend sends it. */
export function errorResponse(code: string, message: string): Buffer {
  const fields = Buffer.concat([field('S', 'FATAL'), field('V', 'FATAL'), field('C', code), field('M', message), Buffer.from([0])]);
  const head = Buffer.alloc(5);
  head.write('E', 0, 'latin1');
  head.writeInt32BE(4 + fields.length, 1);
  return Buffer.concat([head, fields]);
}

function field(type: string, value: string): Buffer {
  return Buffer.concat([Buffer.from(type, 'latin1'), Buffer.from(value, 'utf8'), Buffer.from([0])]);
}

function negotiationCode(buf: Buffer): number | undefined {
  if (buf.length < NEGOTIATION_LENGTH || buf.readInt32BE(0) !== NEGOTIATION_LENGTH) return undefined;
  const code = buf.readInt32BE(4);
  return code === SSL_REQUEST_CODE || code === GSSENC_REQUEST_CODE ? code : undefined;
}

export async function startPostgresFront(opts: PostgresFrontOptions): Promise<Server> {
  let active = 0;
  const server = createServer((client) => {
    client.setNoDelay(true);
    client.on('error', () => client.destroy());
    let pending = Buffer.alloc(0);
    let negotiations = 0;
    const onData = (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      // Answer each encryption request; the client waits for the byte before it sends anything else.
      while (negotiationCode(pending) !== undefined && negotiations < MAX_NEGOTIATIONS) {
        negotiations++;
        pending = pending.subarray(NEGOTIATION_LENGTH);
        client.write(REFUSE_ENCRYPTION);
      }
      // A request still cut short by TCP: wait for the rest of its 8 bytes.
      if (pending.length === 0 || (pending.length < NEGOTIATION_LENGTH && negotiations < MAX_NEGOTIATIONS)) return;
      client.off('data', onData);
      if (active >= opts.maxConnections) {
        client.end(errorResponse(TOO_MANY_CONNECTIONS.code, TOO_MANY_CONNECTIONS.message));
        return;
      }
      active++;
      relay(client, pending, opts.backendPath, () => active--);
    };
    client.on('data', onData);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

/**
 * Follows a client's message boundaries across chunks: the startup packet (length only), then type + length
 * headers. `check` returns the first bad type byte it meets, or undefined while the stream is well formed.
 */
export class FrontendFraming {
  private skip = 0;
  private head = Buffer.alloc(0);
  private started = false;

  check(chunk: Buffer): number | undefined {
    let i = 0;
    while (i < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        this.skip -= n;
        i += n;
        continue;
      }
      const headerLength = this.started ? 5 : 4;
      const take = chunk.subarray(i, i + headerLength - this.head.length);
      this.head = Buffer.concat([this.head, take]);
      i += take.length;
      if (this.head.length < headerLength) return undefined;
      if (this.started && !FRONTEND_TYPES.has(this.head[0]!)) return this.head[0]!;
      const length = this.head.readInt32BE(this.started ? 1 : 0);
      if (length < 4) return this.started ? this.head[0]! : 0;
      this.skip = length - 4;
      this.head = Buffer.alloc(0);
      this.started = true;
    }
    return undefined;
  }
}

/** Relays the client to the backend from `first` on, checking its framing; either side ending ends both, once. */
function relay(client: Socket, first: Buffer, backendPath: string, done: () => void): void {
  const backend = connect(backendPath);
  backend.setNoDelay(true);
  const framing = new FrontendFraming();
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    client.destroy();
    backend.destroy();
    done();
  };
  for (const s of [client, backend]) {
    s.on('error', finish);
    s.once('close', finish);
  }
  let rejected = false;
  const forward = (chunk: Buffer) => {
    if (rejected) return;
    const bad = framing.check(chunk);
    if (bad !== undefined) {
      process.stderr.write(`postgres: client sent invalid message type 0x${bad.toString(16)}; closing its connection\n`);
      rejected = true;
      client.end(errorResponse(PROTOCOL_VIOLATION, `invalid frontend message type ${bad}`), finish);
      return;
    }
    if (!backend.write(chunk)) {
      client.pause();
      backend.once('drain', () => client.resume());
    }
  };
  forward(first);
  client.on('data', forward);
  client.once('end', () => backend.end());
  backend.pipe(client);
}

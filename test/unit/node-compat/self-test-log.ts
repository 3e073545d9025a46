// A logger that keeps its lines, and a plain-TCP round trip, for the pooled-reads self-test tests.
import { createServer, type Socket } from 'node:net';
import { Logger } from '../../../src/logging/logger.js';
import { adoptAccepted, connectPooled, isPooled } from '../../../src/dataplane/pooled-reads.js';

export function capturingLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: new Logger('proxy', 'info', (line) => lines.push(line)), lines };
}

/** `level<TAB>scope<TAB>message<TAB>fields` of a captured line, without its timestamp. */
export function withoutTimestamp(line: string): string {
  return line.slice(line.indexOf('\t') + 1).trimEnd();
}

/**
 * Echoes `payload` through a loopback pair dialed with connectPooled() and accepted with adoptAccepted(),
 * reading with plain 'data' events on the sockets that were not adopted. Says which sides were pooled.
 */
export async function roundTrip(payload: Buffer): Promise<{ echoed: Buffer; dialPooled: boolean; acceptAdopted: boolean }> {
  const server = createServer({ pauseOnConnect: true });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const client = connectPooled({ host: '127.0.0.1', port });
  try {
    const serverSide = await accepted;
    const acceptAdopted = adoptAccepted(serverSide);
    serverSide.on('data', (chunk: Buffer) => serverSide.write(chunk));
    serverSide.resume();
    const parts: Buffer[] = [];
    let have = 0;
    const echoed = new Promise<Buffer>((resolve) =>
      client.on('data', (chunk: Buffer) => {
        parts.push(chunk);
        have += chunk.length;
        if (have >= payload.length) resolve(Buffer.concat(parts));
      }),
    );
    client.write(payload);
    const result = { echoed: await echoed, dialPooled: isPooled(client), acceptAdopted };
    serverSide.destroy();
    return result;
  } finally {
    client.destroy();
    server.close();
  }
}

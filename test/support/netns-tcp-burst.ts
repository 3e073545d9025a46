// Opens many TCP connections at once from inside a namespace: connection i goes to host:(basePort+i),
// sends `i`, half-closes; prints the replies in order as one JSON array (an error code in place of a reply).
import { connect } from 'node:net';

/** Bounded so a test never waits on a connection that hangs. */
const BURST_DEADLINE_MS = 30_000;

const [host, basePort, count] = process.argv.slice(2);
const timer = setTimeout(() => { process.stdout.write('"ETIMEDOUT"\n'); process.exit(1); }, BURST_DEADLINE_MS);
const replies = await Promise.all(Array.from({ length: Number(count) }, (_, i) => new Promise<string>((resolve) => {
  const chunks: Buffer[] = [];
  const socket = connect({ host: host!, port: Number(basePort) + i }, () => socket.end(String(i)));
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('end', () => resolve(Buffer.concat(chunks).toString()));
  socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
})));
clearTimeout(timer);
process.stdout.write(`${JSON.stringify(replies)}\n`);

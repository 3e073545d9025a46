// A tiny TCP client the netns tests run inside a namespace: connect, send argv[4], half-close, print
// what came back (or the connect error's code) as one JSON line.
import { connect } from 'node:net';

/** Bounded so a test never waits on a client that hangs. */
const CLIENT_DEADLINE_MS = 20_000;

const [host, port, payload] = process.argv.slice(2);
const chunks: Buffer[] = [];
const socket = connect({ host: host!, port: Number(port) }, () => socket.end(payload));
const timer = setTimeout(() => finish('ETIMEDOUT'), CLIENT_DEADLINE_MS);
socket.on('data', (c: Buffer) => chunks.push(c));
socket.on('end', () => finish());
socket.on('error', (err: NodeJS.ErrnoException) => finish(err.code ?? err.message));

function finish(error?: string): void {
  clearTimeout(timer);
  process.stdout.write(`${JSON.stringify({ reply: Buffer.concat(chunks).toString(), ...(error ? { error } : {}) })}\n`);
  socket.destroy();
  process.exit(0);
}

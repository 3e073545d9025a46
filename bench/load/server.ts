// The benchmark's backend: a TCP echo server in its own process, so the load generator and the proxies
// never share its event loop. Every byte received is sent back; a half-close is answered with one.
import { createServer } from 'node:net';

/** Big enough that 10,000 idle connections plus a connection-rate burst never queue in the kernel. */
const LISTEN_BACKLOG = 4096;

function main(): void {
  const [host, portText] = process.argv.slice(2);
  const port = Number(portText);
  if (!host || !Number.isInteger(port)) {
    process.stderr.write('usage: server.js <host> <port>\n');
    process.exit(2);
  }
  const server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      if (!socket.write(chunk)) socket.pause();
    });
    socket.on('drain', () => socket.resume());
    socket.on('end', () => socket.end());
  });
  server.listen({ host, port, backlog: LISTEN_BACKLOG }, () => process.stdout.write(`listening ${host}:${port}\n`));
  process.on('SIGTERM', () => process.exit(0));
}

main();

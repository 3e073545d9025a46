// Byte integrity of many concurrent raw TCP connections through the waypoint (and, as a control, through
// the node proxies alone): every client→server byte the server receives is the client's own pattern,
// every byte coming back is exactly the server's answer — both directions at once, 3 B to 1 MiB.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { answerOf, difference, requestBytes, requestChecker, SIZES, startEchoMesh, type EchoMesh, type Listener, type Violation } from './echo-mesh.js';

/** Connections opened at once per round, and rounds per path. */
const CONNECTIONS = 60;
const ROUNDS = 4;
/** A connection's whole exchange; far above what a loaded 2-core box needs for 1 MiB each way. */
const EXCHANGE_TIMEOUT_MS = 120_000;

/** Answers every byte as it arrives (high bit flipped), checking it against the sender's pattern. */
function echoServer(violations: Violation[]) {
  return (ip: string, port: number): Promise<Server> => {
    const server = createServer({ allowHalfOpen: true }, (socket: Socket) => {
      const check = requestChecker(violations);
      socket.on('data', (chunk: Buffer) => socket.write(check(chunk)));
      socket.on('end', () => socket.end());
      socket.on('error', () => socket.destroy());
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, ip, () => resolve(server));
    });
  };
}

/** One connection: sends its pattern, half-closes, and compares the whole answer byte by byte. */
function exchange(listen: Listener, id: number, size: number): Promise<string> {
  const sent = requestBytes(id, size);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: listen.listenAddress, port: listen.listenPort, allowHalfOpen: true });
    const timer = setTimeout(() => socket.destroy(new Error(`no complete answer within ${EXCHANGE_TIMEOUT_MS} ms`)), EXCHANGE_TIMEOUT_MS);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => {
      clearTimeout(timer);
      resolve(difference(Buffer.concat(chunks), answerOf(sent)));
      socket.destroy();
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      resolve(`error ${err.message}`);
    });
    socket.on('connect', () => socket.end(sent));
  });
}

let em: EchoMesh;
const violations: Violation[] = [];

before(async () => {
  em = await startEchoMesh('tcp-echo', echoServer(violations));
});

after(async () => {
  await em?.stop();
});

async function rounds(listen: Listener, path: string): Promise<void> {
  violations.length = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const base = round * CONNECTIONS;
    const sizes = Array.from({ length: CONNECTIONS }, (_, i) => SIZES[i % SIZES.length]!);
    const outcomes = await Promise.all(sizes.map((size, i) => exchange(listen, base + i, size)));
    const bad = outcomes.map((detail, i) => (detail ? `#${base + i} (${sizes[i]} B): ${detail}` : '')).filter(Boolean);
    assert.deepEqual(violations, [], `round ${round + 1} ${path}: the server received bytes that are not the client's`);
    assert.deepEqual(bad, [], `round ${round + 1} ${path}: answers that differ`);
  }
}

test(`through the waypoint: ${ROUNDS} rounds of ${CONNECTIONS} concurrent connections (3 B–1 MiB, both ways) arrive byte-exact`, { timeout: 600_000 }, async () => {
  await rounds(em.waypoint, 'through the waypoint');
});

test(`through the node proxies only: ${ROUNDS} rounds of ${CONNECTIONS} concurrent connections arrive byte-exact`, { timeout: 600_000 }, async () => {
  await rounds(em.direct, 'through the node proxies only');
});

// Byte integrity of HTTP/1.1 bodies parsed and routed by the waypoint, many requests at once: every body
// byte the backend receives is the client's own pattern, every response body byte is the backend's answer
// — the backend answers while the request body still streams in, 3 B to 1 MiB.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { answerOf, difference, requestBytes, requestChecker, SIZES, startEchoMesh, type EchoMesh, type Listener, type Violation } from './echo-mesh.js';

/** Requests sent at once per round, each on its own connection, and rounds. */
const REQUESTS = 50;
const ROUNDS = 3;
/** A request's whole exchange; far above what a loaded 2-core box needs for 1 MiB each way. */
const REQUEST_TIMEOUT_MS = 120_000;

function echoServer(violations: Violation[]) {
  return (ip: string, port: number): Promise<Server> => {
    const server = createServer((req, res) => {
      const check = requestChecker(violations);
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      req.on('data', (chunk: Buffer) => res.write(check(chunk)));
      req.on('end', () => res.end());
    });
    server.on('clientError', (err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket) => {
      parseErrors.push(`${err.code ?? err.message}: ${err.rawPacket?.subarray(0, 400).toString('latin1') ?? ''}`);
      socket.destroy();
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, ip, () => resolve(server));
    });
  };
}

/** One POST on its own connection; '' when the answer is byte-exact, else what differed. */
function post(listen: Listener, id: number, size: number): Promise<string> {
  const body = requestBytes(id, size);
  return new Promise((resolve) => {
    const req = request(
      { host: listen.listenAddress, port: listen.listenPort, method: 'POST', path: `/echo/${id}`, agent: false, timeout: REQUEST_TIMEOUT_MS, headers: { 'content-length': size } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(res.statusCode === 200 ? difference(Buffer.concat(chunks), answerOf(body)) : `status ${res.statusCode}`));
        res.on('error', (err) => resolve(`response error ${err.message}`));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', (err) => resolve(`error ${err.message}`));
    req.end(body);
  });
}

let em: EchoMesh;
const violations: Violation[] = [];
/** Requests the backends could not parse, with the bytes they got. */
const parseErrors: string[] = [];

before(async () => {
  em = await startEchoMesh('http-echo', echoServer(violations));
});

after(async () => {
  await em?.stop();
});

async function rounds(listen: Listener, path: string): Promise<void> {
  violations.length = 0;
  parseErrors.length = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const base = round * REQUESTS;
    const sizes = Array.from({ length: REQUESTS }, (_, i) => SIZES[i % SIZES.length]!);
    const outcomes = await Promise.all(sizes.map((size, i) => post(listen, base + i, size)));
    const bad = outcomes.map((detail, i) => (detail ? `#${base + i} (${sizes[i]} B): ${detail}` : '')).filter(Boolean);
    assert.deepEqual(parseErrors, [], `round ${round + 1} ${path}: requests the backends could not parse`);
    assert.deepEqual(violations, [], `round ${round + 1} ${path}: the backend received body bytes that are not the client's`);
    assert.deepEqual(bad, [], `round ${round + 1} ${path}: response bodies that differ`);
  }
}

test(`through the node proxies only: ${ROUNDS} rounds of ${REQUESTS} concurrent POSTs arrive byte-exact`, { timeout: 600_000 }, async () => {
  await rounds(em.direct, 'through the node proxies only');
});

test(`through the waypoint: ${ROUNDS} rounds of ${REQUESTS} concurrent POSTs (3 B–1 MiB bodies, both ways) arrive byte-exact`, { timeout: 600_000 }, async () => {
  await rounds(em.waypoint, 'through the waypoint');
});

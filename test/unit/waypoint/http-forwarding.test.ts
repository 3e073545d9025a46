// HTTP/1.1 forwarding over an in-process socket pair (as the waypoint does on a tunnel): keep-alive,
// chunked and content-length bodies, hop-by-hop headers, and Upgrade passed through as raw bytes after the 101.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { socketPair, type PairedSocket } from '../../../src/dataplane/http/duplex-pair.js';
import { forwardRequest, forwardUpgrade } from '../../../src/dataplane/http/forward.js';

/** A backend on 127.0.0.1: echoes method, path, body length and a header; upgrades "echo" to a raw echo. */
async function backend(): Promise<Server & { port: number }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = `${req.method} ${req.url} ${Buffer.concat(chunks).length} conn=${req.headers['connection']} x=${req.headers['x-test'] ?? ''} ka=${req.headers['keep-alive'] ?? ''}`;
      if (req.url === '/chunked') {
        res.writeHead(200, { 'transfer-encoding': 'chunked' });
        res.write('part1-');
        res.end('part2');
      } else {
        res.writeHead(200, { 'content-length': Buffer.byteLength(body), 'x-from': 'backend' });
        res.end(body);
      }
    });
  });
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => {});
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
    if (head.length) socket.write(head);
    socket.pipe(socket);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return Object.assign(server, { port: (server.address() as AddressInfo).port });
}

/** The waypoint side: a parser-only server fed one end of a pair; returns the client's end. */
function proxyOver(port: number): { client: PairedSocket; server: Server } {
  const dial = () => connect({ host: '127.0.0.1', port });
  const server = createServer((req, res) => void forwardRequest(req, res, dial()));
  server.on('upgrade', (req, socket, head) => void forwardUpgrade(req, socket, head, dial()));
  const [client, local] = socketPair();
  server.emit('connection', local);
  return { client, server };
}

/** Reads from `socket` until `done(text)` holds or 5 s pass. */
function readUntil(socket: PairedSocket, done: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`timed out; got ${JSON.stringify(text)}`)), 5_000);
    const onData = (c: Buffer): void => {
      text += c.toString();
      if (done(text)) {
        clearTimeout(timer);
        socket.off('data', onData);
        resolve(text);
      }
    };
    socket.on('data', onData);
  });
}

function bodyOf(response: string): string {
  return response.slice(response.indexOf('\r\n\r\n') + 4);
}

test('keep-alive: two requests on one connection, each forwarded with hop-by-hop headers removed', async () => {
  const b = await backend();
  const { client } = proxyOver(b.port);
  try {
    client.write('GET /one HTTP/1.1\r\nHost: reviews\r\nKeep-Alive: timeout=5\r\nX-Test: a\r\n\r\n');
    const first = await readUntil(client, (t) => t.includes('ka='));
    assert.match(first, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(first, /\r\nx-from: backend\r\n/);
    // The upstream hop is one request per stream (Connection: close); the client's Keep-Alive never passes.
    assert.equal(bodyOf(first), 'GET /one 0 conn=close x=a ka=');
    client.write('POST /two HTTP/1.1\r\nHost: reviews\r\nContent-Length: 5\r\n\r\nhello');
    const second = await readUntil(client, (t) => t.includes('ka='));
    assert.equal(bodyOf(second), 'POST /two 5 conn=close x= ka=');
  } finally {
    client.destroy();
    b.closeAllConnections();
    b.close();
  }
});

test('chunked request and response bodies are re-framed intact', async () => {
  const b = await backend();
  const { client } = proxyOver(b.port);
  try {
    client.write('POST /body HTTP/1.1\r\nHost: r\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n');
    const res = await readUntil(client, (t) => t.includes('ka='));
    assert.equal(bodyOf(res), 'POST /body 7 conn=close x= ka=');
    client.write('GET /chunked HTTP/1.1\r\nHost: r\r\n\r\n');
    const chunked = await readUntil(client, (t) => t.endsWith('0\r\n\r\n'));
    assert.match(chunked, /transfer-encoding: chunked/i);
    assert.equal(bodyOf(chunked), '6\r\npart1-\r\n5\r\npart2\r\n0\r\n\r\n');
  } finally {
    client.destroy();
    b.closeAllConnections();
    b.close();
  }
});

test('Upgrade: the 101 is relayed and bytes then flow raw both ways', async () => {
  const b = await backend();
  const { client } = proxyOver(b.port);
  try {
    client.write('GET /ws HTTP/1.1\r\nHost: r\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
    const head = await readUntil(client, (t) => t.includes('\r\n\r\n'));
    assert.equal(head, 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
    client.write('raw bytes \x00\x01 after upgrade');
    const echoed = await readUntil(client, (t) => t.endsWith('after upgrade'));
    assert.equal(echoed, 'raw bytes \x00\x01 after upgrade');
  } finally {
    client.destroy();
    b.closeAllConnections();
    b.close();
  }
});

// 256 MiB each way through two node proxies (HBONE) arrive byte-identical.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { connect, createServer } from 'node:net';
import { eventually, startMesh } from '../../support/mesh.js';
import { deployEcho } from '../../support/echo-service.js';
import { streamBlocks } from '../../support/workloads.js';

const MiB = 1024 * 1024;
const TOTAL = 256 * MiB;

test('256 MiB each way through the mesh arrive byte-identical', { timeout: 180_000 }, async () => {
  const mesh = await startMesh({ nodes: 2 });
  // A server that streams TOTAL bytes of its own while hashing what it receives.
  const serverIp = mesh.podIp(30);
  const block = randomBytes(MiB);
  const expected = createHash('sha256');
  for (let i = 0; i < TOTAL / MiB; i++) expected.update(block);
  const expectedDigest = expected.digest('hex');
  let serverDigest = '';
  let serverReceived = 0;
  const server = createServer({ allowHalfOpen: true }, (s) => {
    const h = createHash('sha256');
    s.on('data', (c: Buffer) => {
      serverReceived += c.length;
      h.update(c);
    });
    s.on('end', () => (serverDigest = h.digest('hex')));
    streamBlocks(s, block, TOTAL);
  });
  await new Promise<void>((r) => server.listen(7000, serverIp, () => r()));
  try {
    const echo = await deployEcho(mesh, {
      endpoints: [{ name: 'bulk', node: 2, ip: serverIp, serve: false }],
      client: { name: 'client', node: 1, ip: mesh.podIp(31) },
    });
    const started = Date.now();
    const clientDigest = await new Promise<{ digest: string; received: number }>((resolve, reject) => {
      const h = createHash('sha256');
      let received = 0;
      const socket = connect({ host: echo.listen.address, port: echo.listen.port, allowHalfOpen: true });
      socket.on('data', (c: Buffer) => {
        received += c.length;
        h.update(c);
      });
      socket.on('end', () => resolve({ digest: h.digest('hex'), received }));
      socket.on('error', reject);
      socket.on('connect', () => streamBlocks(socket, block, TOTAL));
    });
    const seconds = (Date.now() - started) / 1000;
    await eventually(() => serverDigest !== '', 10_000, 'the server to see the end of the upload');
    assert.equal(clientDigest.received, TOTAL);
    assert.equal(clientDigest.digest, expectedDigest);
    assert.equal(serverReceived, TOTAL);
    assert.equal(serverDigest, expectedDigest);
    process.stdout.write(`# 2 x 256 MiB through the mesh in ${seconds.toFixed(1)} s\n`);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
    await mesh.stop();
  }
});

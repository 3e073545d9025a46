// Interop with nghttp2's own tools: h2load sends CONNECT streams with bodies to our server (echoed
// byte-exact), our client fetches files from nghttpd (16 KiB frames, Huffman and indexed headers).
// Skipped, saying why, when Debian's nghttp2-client / nghttp2-server are not installed.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connectH2 } from '../../../src/dataplane/hbone/h2/client.js';
import { H2SecureServer } from '../../../src/dataplane/hbone/h2/server.js';
import type { H2Stream } from '../../../src/dataplane/hbone/h2/stream.js';
import { PAYLOAD, sha256, skipHostCheck, tlsMaterial, waitFor, type TlsMaterial } from './fixture.js';

const has = (command: string): boolean => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
const MiB = 1024 * 1024;
let tls: TlsMaterial;
let dir: string;
const children: ChildProcess[] = [];

before(async () => {
  tls = await tlsMaterial();
  dir = mkdtempSync(join(tmpdir(), 'l4mesh-h2-nghttp2-'));
});

after(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** A loopback port nothing listens on right now, for a daemon that cannot report the one it bound. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function run(command: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

test('h2load: 200 CONNECT streams with 64 KiB bodies, 50 at a time on 4 connections, echoed by our server', { skip: has('h2load') ? false : 'h2load missing (Debian package nghttp2-client)' }, async () => {
  const body = PAYLOAD.subarray(0, 64 * 1024);
  writeFileSync(join(dir, 'body'), body);
  const server = new H2SecureServer({ key: tls.key, cert: tls.cert });
  const received: string[] = [];
  server.on('stream', (stream: H2Stream, headers: Record<string, string | number>) => {
    assert.equal(headers[':method'], 'CONNECT');
    stream.respond({ ':status': 200 });
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const all = Buffer.concat(chunks);
      received.push(sha256(all));
      stream.end(all);
    });
  });
  await server.listen(0, '127.0.0.1');
  try {
    // h2load sends :method from -H in place of POST; it also sends :scheme and :path, which we ignore.
    const out = await run('h2load', ['-n', '200', '-c', '4', '-m', '50', '-d', join(dir, 'body'), '-H', ':method: CONNECT', '-H', ':authority: 10.0.0.1:80', `https://127.0.0.1:${server.address().port}/`], 120_000);
    assert.match(out, /requests: 200 total, 200 started, 200 done, 200 succeeded, 0 failed, 0 errored, 0 timeout/, out);
    assert.match(out, /status codes: 200 2xx, 0 3xx, 0 4xx, 0 5xx/);
    assert.match(out, new RegExp(`\\(${200 * 65_536}\\) data`), out);
    assert.deepEqual(new Set(received), new Set([sha256(body)]));
    assert.equal(received.length, 200);
  } finally {
    server.destroyAll();
    await server.close();
  }
});

test('nghttpd: our client fetches 3 MiB files on 20 concurrent streams byte-exact (16 KiB frames from the peer)', { skip: has('nghttpd') ? false : 'nghttpd missing (Debian package nghttp2-server)' }, async () => {
  const docs = join(dir, 'htdocs');
  mkdirSync(docs);
  for (let i = 0; i < 20; i++) writeFileSync(join(docs, `f${i}`), PAYLOAD.subarray(i, i + 3 * MiB));
  writeFileSync(join(dir, 'key.pem'), tls.key);
  writeFileSync(join(dir, 'cert.pem'), tls.cert);
  const port = await freePort();
  const daemon = spawn('nghttpd', ['-a', '127.0.0.1', '-d', docs, String(port), join(dir, 'key.pem'), join(dir, 'cert.pem')], { stdio: 'ignore' });
  children.push(daemon);
  let listening = false;
  await waitFor('nghttpd to listen', () => {
    const s = netConnect(port, '127.0.0.1');
    s.once('connect', () => ((listening = true), s.destroy()));
    s.once('error', () => s.destroy());
    return listening;
  }, 30_000);
  const session = await connectH2({ host: '127.0.0.1', port, ca: tls.ca, checkServerIdentity: skipHostCheck });
  try {
    assert.equal(session.remoteSettings.maxFrameSize, 16_384);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => new Promise<{ status: unknown; length: unknown; hash: string }>((resolve, reject) => {
      const stream = session.request({ ':method': 'GET', ':scheme': 'https', ':authority': `127.0.0.1:${port}`, ':path': `/f${i}` }, { endStream: true });
      const chunks: Buffer[] = [];
      let response: Record<string, string | number> = {};
      stream.once('response', (h) => (response = h));
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.once('end', () => resolve({ status: response[':status'], length: response['content-length'], hash: sha256(Buffer.concat(chunks)) }));
      stream.once('error', reject);
    })));
    results.forEach((r, i) => assert.deepEqual(r, { status: 200, length: String(3 * MiB), hash: sha256(PAYLOAD.subarray(i, i + 3 * MiB)) }, `file ${i}`));
  } finally {
    session.destroy();
    daemon.kill('SIGKILL');
  }
});

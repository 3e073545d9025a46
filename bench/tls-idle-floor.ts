// `node dist/bench/tls-idle-floor.js [connections]`: what one idle socket costs a bare Node.js process at
// each end of a connection, as plain TCP, as TLS 1.3 and as mutual TLS 1.3 with mesh-shaped certificates
// (leaf + root, P-256) — the floor under the sidecar's "RSS per idle connection" figure, which holds one mutual-TLS and one
// plain socket per connection in each of its two processes. Nothing of l4mesh runs: the server only echoes.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect as netConnect, createServer as netServer, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { connect as tlsConnect, createSecureContext, createServer as tlsServer } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { createTestCa, type TestIdentity } from '../test/support/test-pki.js';

type Kind = 'tcp' | 'tls' | 'mtls';
interface Pki {
  server: TestIdentity;
  client: TestIdentity;
}
/** Opened and closed once before measuring, so that heap and allocator growth of the first connections is not counted. */
const WARM_CONNECTIONS = 1_000;
const OPEN_PARALLEL = 200;
const SETTLE_MS = 1_500;

function serve(kind: Kind, pki: Pki): void {
  const held: Socket[] = [];
  const onConnection = (s: Socket): void => {
    held.push(s);
    s.on('error', () => {});
    s.on('data', (b) => s.write(b));
  };
  const server =
    kind === 'tcp'
      ? netServer(onConnection)
      : tlsServer(
          {
            key: pki.server.keyPem,
            cert: pki.server.chainPem.slice(0, -1).join(''),
            ca: pki.server.rootPem,
            minVersion: 'TLSv1.3',
            requestCert: kind === 'mtls',
            rejectUnauthorized: kind === 'mtls',
          },
          onConnection,
        );
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`));
  // Each line on stdin asks for the process's memory.
  createInterface({ input: process.stdin }).on('line', () => {
    const m = process.memoryUsage();
    process.stdout.write(`${JSON.stringify({ held: held.length, rssKiB: m.rss / 1024, heapKiB: m.heapUsed / 1024 })}\n`);
  });
}

async function openMany(kind: Kind, port: number, count: number, pki: Pki): Promise<Socket[]> {
  // One context for every connection, as the proxies hold one per identity.
  const context = createSecureContext({ ca: pki.client.rootPem, key: pki.client.keyPem, cert: kind === 'mtls' ? pki.client.chainPem.slice(0, -1).join('') : undefined, minVersion: 'TLSv1.3' });
  const one = (): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const s =
        kind === 'tcp'
          ? netConnect(port, '127.0.0.1')
          : tlsConnect({ port, host: '127.0.0.1', secureContext: context, checkServerIdentity: () => undefined });
      s.once(kind === 'tcp' ? 'connect' : 'secureConnect', () => {
        // One echo proves the connection end to end (the server has accepted it and holds it).
        s.write('x');
        s.once('data', () => resolve(s));
      });
      s.once('error', reject);
    });
  const sockets: Socket[] = [];
  for (let i = 0; i < count; i += OPEN_PARALLEL) sockets.push(...(await Promise.all(Array.from({ length: Math.min(OPEN_PARALLEL, count - i) }, one))));
  return sockets;
}

interface Floor {
  /** Per accepted socket in the server process. */
  rssKiB: number;
  heapKiB: number;
  /** Per connecting socket in this (client) process. */
  clientRssKiB: number;
}

async function measure(kind: Kind, count: number, pki: Pki): Promise<Floor> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve', kind], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, BENCH_PKI: JSON.stringify(pki) } });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async <T>(): Promise<T> => JSON.parse(((await lines.next()).value as string) ?? 'null') as T;
  try {
    const { port } = await next<{ port: number }>();
    for (const s of await openMany(kind, port, WARM_CONNECTIONS, pki)) s.destroy();
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    child.stdin!.write('\n');
    const before = await next<{ rssKiB: number; heapKiB: number }>();
    const clientBefore = process.memoryUsage().rss / 1024;
    const held = await openMany(kind, port, count, pki);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const clientAfter = process.memoryUsage().rss / 1024;
    child.stdin!.write('\n');
    const after = await next<{ held: number; rssKiB: number; heapKiB: number }>();
    for (const s of held) s.destroy();
    return { rssKiB: (after.rssKiB - before.rssKiB) / count, heapKiB: (after.heapKiB - before.heapKiB) / count, clientRssKiB: (clientAfter - clientBefore) / count };
  } finally {
    child.kill();
    await once(child, 'exit');
  }
}

if (process.argv[2] === '--serve') {
  serve(process.argv[3] as Kind, JSON.parse(process.env.BENCH_PKI!) as Pki);
} else {
  const count = Number(process.argv[2] ?? 5_000);
  const ca = await createTestCa();
  const pki: Pki = { server: await ca.issue('spiffe://cluster.local/ns/default/sa/server'), client: await ca.issue('spiffe://cluster.local/ns/default/sa/client') };
  console.log(`${count} idle connections, each end in its own process (after ${WARM_CONNECTIONS} opened and closed), Node ${process.version}:`);
  for (const kind of ['tcp', 'tls', 'mtls'] as const) {
    const r = await measure(kind, count, pki);
    console.log(`${kind.padEnd(5)} server ${r.rssKiB.toFixed(1).padStart(5)} KiB RSS per socket (V8 heap in use +${r.heapKiB.toFixed(1)} KiB), client ${r.clientRssKiB.toFixed(1).padStart(5)} KiB`);
  }
}

// `node dist/bench/tls-write-join.js [rounds] [MB per round]`: what a TLS socket's writer pays when a
// write is several buffers instead of one. Node's TLSWrap::DoWrite joins the buffers of a multi-buffer
// write into a new allocation before encrypting it; a single buffer is encrypted where it lies. An HBONE
// DATA frame written as a 9-byte header and a 256 KiB payload (corked) therefore costs one allocation and
// one copy of the payload more than the same frame written as one buffer, which is what the headroom of
// pooled reads (src/dataplane/pooled-reads.ts) makes possible. The rounds alternate the two ways on one
// TLS connection to a sink in another process; only the writer's CPU is counted.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect as tlsConnect, createServer as tlsServer, type TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { createTestCa, type TestIdentity } from '../test/support/test-pki.js';

const PAYLOAD_BYTES = 256 * 1024;
const HEADER_BYTES = 9;

function sink(identity: TestIdentity): void {
  const server = tlsServer({ key: identity.keyPem, cert: identity.chainPem.slice(0, -1).join(''), minVersion: 'TLSv1.3' }, (s) => {
    s.on('data', () => {});
    s.on('error', () => {});
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as { port: number }).port}\n`));
}

interface Round {
  way: 'header + payload' | 'one buffer';
  userSecondsPerGB: number;
  systemSecondsPerGB: number;
}

async function round(socket: TLSSocket, split: boolean, bytes: number): Promise<Round> {
  const frame = Buffer.alloc(HEADER_BYTES + PAYLOAD_BYTES, 0x61);
  const header = frame.subarray(0, HEADER_BYTES);
  const payload = frame.subarray(HEADER_BYTES);
  const before = process.cpuUsage();
  for (let sent = 0; sent < bytes; sent += PAYLOAD_BYTES) {
    let ok: boolean;
    if (split) {
      socket.cork();
      socket.write(header);
      ok = socket.write(payload);
      socket.uncork();
    } else {
      ok = socket.write(frame);
    }
    if (!ok) await once(socket, 'drain');
  }
  const used = process.cpuUsage(before);
  const gb = bytes / 1e9;
  return { way: split ? 'header + payload' : 'one buffer', userSecondsPerGB: used.user / 1e6 / gb, systemSecondsPerGB: used.system / 1e6 / gb };
}

if (process.argv[2] === '--sink') {
  sink(JSON.parse(process.env.BENCH_IDENTITY!) as TestIdentity);
} else {
  const rounds = Number(process.argv[2] ?? 8);
  const bytes = Number(process.argv[3] ?? 2_000) * 1e6;
  const identity = await (await createTestCa()).issue('spiffe://cluster.local/ns/default/sa/sink');
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--sink'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, BENCH_IDENTITY: JSON.stringify(identity) } });
  try {
    const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
    const socket = tlsConnect({ port: Number(line), host: '127.0.0.1', ca: identity.rootPem, checkServerIdentity: () => undefined, minVersion: 'TLSv1.3' });
    await once(socket, 'secureConnect');
    console.log(`${rounds} rounds of ${bytes / 1e6} MB in ${PAYLOAD_BYTES / 1024} KiB frames, alternating, Node ${process.version}; writer CPU s/GB:`);
    const results: Round[] = [];
    for (let i = 0; i < rounds; i++) {
      const r = await round(socket, i % 2 === 0, bytes);
      results.push(r);
      console.log(`${r.way.padEnd(16)} user ${r.userSecondsPerGB.toFixed(3)} system ${r.systemSecondsPerGB.toFixed(3)}`);
    }
    const mean = (way: Round['way']): number => {
      const of = results.filter((r) => r.way === way);
      return of.reduce((a, r) => a + r.userSecondsPerGB, 0) / of.length;
    };
    console.log(`mean user s/GB: header + payload ${mean('header + payload').toFixed(3)}, one buffer ${mean('one buffer').toFixed(3)}`);
    socket.destroy();
  } finally {
    child.kill();
  }
}

// 100 concurrent echoes of 1 KiB–8 MiB through two real node proxies, cross-node and same-node, twice in
// a row and then once more on a fresh connection: every byte comes back (sha256 per echo). Issue 13 item 1:
// with a 16 MiB HBONE session window both proxies stopped reading their shared connection and hung.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { startMesh } from '../../support/mesh.js';
import { deployEcho, type EchoDeployment } from '../../support/echo-service.js';
import { eachTransport, transportArgs } from '../../support/transports.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const CONCURRENT = 100;
/**
 * A round fails when no echo received a byte for this long: a deadlock moves nothing at all, while a slow
 * (loaded 2-core) box still moves megabytes per second.
 */
const NO_PROGRESS_MS = 30_000;
/** And it must finish within this even while progressing (generous: the box is shared and loaded). */
const ROUND_DEADLINE_MS = 240_000;

interface EchoResult {
  endpoint: string;
  ok: boolean;
  detail: string;
}

/** One round of concurrent echoes with a watchdog that cuts them all when bytes stop moving. */
class Round {
  received = 0;
  private readonly sockets = new Set<Socket>();
  private lastProgressAt = Date.now();
  private readonly watchdog: NodeJS.Timeout;
  failure = '';

  constructor(deadline: number) {
    let seen = 0;
    this.watchdog = setInterval(() => {
      const now = Date.now();
      if (this.received !== seen) {
        seen = this.received;
        this.lastProgressAt = now;
      }
      if (now - this.lastProgressAt >= NO_PROGRESS_MS) this.abort(`no byte came back for ${NO_PROGRESS_MS / 1000} s`);
      else if (now >= deadline) this.abort('round deadline passed');
    }, 1000);
  }

  abort(why: string): void {
    this.failure ||= why;
    for (const s of this.sockets) s.destroy(new Error(why));
  }

  done(): void {
    clearInterval(this.watchdog);
  }

  /** Sends `payload`, half-closes, and checks that `<name>\n` + `payload` comes back. */
  echo(address: string, port: number, payload: Buffer): Promise<EchoResult> {
    const sent = createHash('sha256').update(payload).digest('hex');
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let received = 0;
      const socket = connect({ host: address, port, allowHalfOpen: true });
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('data', (c: Buffer) => {
        received += c.length;
        this.received += c.length;
        chunks.push(c);
      });
      socket.on('error', (err) => resolve({ endpoint: '', ok: false, detail: `${err.message} after ${received} of ${payload.length} bytes` }));
      socket.on('end', () => {
        const all = Buffer.concat(chunks);
        const newline = all.indexOf(10);
        const endpoint = all.subarray(0, newline).toString();
        const body = all.subarray(newline + 1);
        const got = createHash('sha256').update(body).digest('hex');
        resolve({ endpoint, ok: got === sent && body.length === payload.length, detail: `${body.length} of ${payload.length} bytes, sha256 ${got === sent ? 'equal' : 'differs'}` });
        socket.destroy();
      });
      socket.on('connect', () => socket.end(payload));
    });
  }
}

eachTransport('100 concurrent 1 KiB–8 MiB echoes through two node proxies, twice, then a fresh connection', { timeout: 600_000 }, async (transport) => {
  const mesh = await startMesh({ nodes: 2, extraZtunnelArgs: transportArgs(transport) });
  let deployment: EchoDeployment | undefined;
  try {
    // Round robin over one endpoint on node-2 (cross-node) and one on node-1 (same node as the client).
    deployment = await deployEcho(mesh, {
      endpoints: [
        { name: 'remote', node: 2, ip: mesh.podIp(40) },
        { name: 'local', node: 1, ip: mesh.podIp(41) },
      ],
      client: { name: 'client', node: 1, ip: mesh.podIp(42) },
    });
    const listen = deployment.listen;
    // Slices of one random 8 MiB block at random offsets: distinct payloads without 400 MiB of randomness.
    const block = randomBytes(8 * MiB);
    const payloads = (): Buffer[] =>
      Array.from({ length: CONCURRENT }, () => {
        const size = KiB + Math.floor(Math.random() * (8 * MiB - KiB));
        const offset = Math.floor(Math.random() * (block.length - size + 1));
        return block.subarray(offset, offset + size);
      });

    for (let round = 1; round <= 2; round++) {
      const batch = payloads();
      const started = Date.now();
      const run = new Round(started + ROUND_DEADLINE_MS);
      const results = await Promise.all(batch.map((p) => run.echo(listen.address, listen.port, p)));
      run.done();
      const failed = results.filter((r) => !r.ok);
      const megabytes = batch.reduce((n, p) => n + p.length, 0) / MiB;
      process.stdout.write(`# round ${round}: ${results.length - failed.length}/${CONCURRENT} echoes of ${megabytes.toFixed(0)} MiB in ${((Date.now() - started) / 1000).toFixed(1)} s${run.failure ? ` (${run.failure})` : ''}\n`);
      assert.deepEqual(failed.map((r) => r.detail), [], `round ${round}: ${failed.length} of ${CONCURRENT} echoes failed`);
      assert.equal(results.filter((r) => r.endpoint === 'remote').length, CONCURRENT / 2, 'half of the echoes went cross-node');
      assert.equal(results.filter((r) => r.endpoint === 'local').length, CONCURRENT / 2, 'half of the echoes stayed on node-1');
    }
    // After both rounds a new connection to each endpoint still works at once.
    const fresh = new Round(Date.now() + 20_000);
    const results = [];
    for (let i = 0; i < 2; i++) results.push(await fresh.echo(listen.address, listen.port, block.subarray(0, 64 * KiB)));
    fresh.done();
    assert.deepEqual(results.map((r) => r.ok), [true, true], results.map((r) => r.detail).join('; '));
    assert.deepEqual(results.map((r) => r.endpoint).sort(), ['local', 'remote']);
  } finally {
    await deployment?.close();
    await mesh.stop();
  }
});

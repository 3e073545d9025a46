// Soak (issue 13): two node proxies and a control plane as real processes on loopback, concurrent bulk
// echoes and connection churn through the mesh, a node proxy and the control plane SIGKILLed and restarted
// by this harness, RSS of each proxy sampled, failures counted. Prints a summary; writes nothing.
// Usage: npm run soak [-- --duration 3m]
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { startMesh, type TestMesh } from '../test/support/mesh.js';
import { deployEcho } from '../test/support/echo-service.js';

const KiB = 1024;
const MiB = 1024 * KiB;
/** Default run length: long enough for several fault cycles, short enough to run before a merge. */
const DEFAULT_DURATION_MS = 10 * 60_000;
/** Concurrent bulk echo loops (64 KiB–4 MiB each) and churn loops (1 KiB, a new connection each time). */
const BULK_LOOPS = 20;
const CHURN_LOOPS = 10;
/** One fault (node-2 or the control plane SIGKILLed, then restarted) per this period. */
const FAULT_EVERY_MS = 60_000;
/** An echo that takes longer than this counts as failed (hung). */
const ECHO_DEADLINE_MS = 60_000;
const RSS_SAMPLE_MS = 5_000;

function parseDuration(args: string[]): number {
  const i = args.indexOf('--duration');
  if (i < 0) return DEFAULT_DURATION_MS;
  const m = /^(\d+)(s|m)$/.exec(args[i + 1] ?? '');
  if (!m) throw new Error(`--duration wants e.g. 90s or 3m, got "${args[i + 1] ?? ''}"`);
  return Number(m[1]) * (m[2] === 'm' ? 60_000 : 1000);
}

function echo(address: string, port: number, payload: Buffer): Promise<boolean> {
  const want = createHash('sha256').update(payload).digest('hex');
  return new Promise((resolve) => {
    const h = createHash('sha256');
    let header = true;
    const socket = connect({ host: address, port, allowHalfOpen: true });
    const timer = setTimeout(() => socket.destroy(new Error('deadline')), ECHO_DEADLINE_MS);
    socket.on('data', (c: Buffer) => {
      if (header) {
        const nl = c.indexOf(10);
        if (nl < 0) return;
        header = false;
        c = c.subarray(nl + 1);
      }
      h.update(c);
    });
    socket.on('error', () => (clearTimeout(timer), resolve(false)));
    socket.on('end', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(h.digest('hex') === want);
    });
    socket.on('connect', () => socket.end(payload));
  });
}

function rssKiB(pid: number | undefined): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

async function main(): Promise<void> {
  const durationMs = parseDuration(process.argv.slice(2));
  const mesh: TestMesh = await startMesh({ nodes: 2 });
  const counts = { ok: 0, failed: 0, failedDuringFault: 0, bytes: 0, faults: 0, restartMs: [] as number[] };
  const rss: Record<string, number[]> = { 'node-1': [], 'node-2': [] };
  let faultActive = false;
  try {
    const deployment = await deployEcho(mesh, {
      endpoints: [
        { name: 'remote', node: 2, ip: mesh.podIp(50) },
        { name: 'local', node: 1, ip: mesh.podIp(51) },
      ],
      client: { name: 'client', node: 1, ip: mesh.podIp(52) },
    });
    const { address, port } = deployment.listen;
    const block = randomBytes(4 * MiB);
    const end = Date.now() + durationMs;
    const record = (ok: boolean, bytes: number): void => {
      if (ok) (counts.ok++, (counts.bytes += bytes));
      else if (faultActive) counts.failedDuringFault++;
      else counts.failed++;
    };
    const loop = async (size: () => number): Promise<void> => {
      for (let i = 0; Date.now() < end && i < 1_000_000; i++) {
        const n = size();
        record(await echo(address, port, block.subarray(0, n)), n);
      }
    };
    const sampler = setInterval(() => {
      for (const n of mesh.nodes) rss[n.name].push(rssKiB(n.proc.proc.pid));
    }, RSS_SAMPLE_MS);
    const faults = (async () => {
      for (let k = 0; Date.now() + FAULT_EVERY_MS < end && k < 1000; k++) {
        await new Promise((r) => setTimeout(r, FAULT_EVERY_MS));
        faultActive = true;
        const started = Date.now();
        if (k % 2 === 0) {
          const node = mesh.nodes[1];
          node.proc.proc.kill('SIGKILL');
          await new Promise((r) => node.proc.proc.once('exit', r));
          await mesh.startNode(2);
        } else {
          mesh.controlPlane.proc.kill('SIGKILL');
          await new Promise((r) => mesh.controlPlane.proc.once('exit', r));
          await mesh.startControlPlane();
        }
        counts.restartMs.push(Date.now() - started);
        counts.faults++;
        // Connections that were in flight at the kill fail; give them time to settle before counting again.
        await new Promise((r) => setTimeout(r, 5_000));
        faultActive = false;
      }
    })();
    await Promise.all([
      ...Array.from({ length: BULK_LOOPS }, () => loop(() => 64 * KiB + Math.floor(Math.random() * (4 * MiB - 64 * KiB)))),
      ...Array.from({ length: CHURN_LOOPS }, () => loop(() => KiB)),
      faults,
    ]);
    clearInterval(sampler);
    await deployment.close();
  } finally {
    await mesh.stop();
  }
  const mb = (counts.bytes / MiB).toFixed(0);
  process.stdout.write(`soak ${new Date().toISOString()} duration ${durationMs / 1000} s\n`);
  process.stdout.write(`echoes ok ${counts.ok} (${mb} MiB), failed ${counts.failed} outside faults, ${counts.failedDuringFault} between a kill and 5 s after its restart\n`);
  process.stdout.write(`faults ${counts.faults} (node-2 and control plane alternately), restart ms ${counts.restartMs.join(', ')}\n`);
  for (const [name, samples] of Object.entries(rss)) {
    if (samples.length === 0) continue;
    process.stdout.write(`${name} RSS KiB: first ${samples[0]}, max ${Math.max(...samples)}, last ${samples[samples.length - 1]} (${samples.length} samples)\n`);
  }
  process.exitCode = counts.failed === 0 ? 0 : 1;
}

await main();

// A node proxy out of file descriptors: its fd limit lowered with prlimit, connections opened until
// accepting fails. Accept failures are counted (l4mesh_accept_errors_total), logged in one rate-limited
// line with the count, :15020/metrics, :15021 and :15000 keep answering, and once the connections close
// the proxy carries traffic again. A proxy started with soft < hard runs with soft = hard.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { eventually, startMesh } from '../../support/mesh.js';
import { deployEcho } from '../../support/echo-service.js';
import { cliCommand } from '../../support/processes.js';
import { parsePrometheusText, total } from '../../support/prometheus-text.js';
import { roundTrip } from '../../support/workloads.js';

/** Head room over the descriptors the proxy holds when the test starts: a few dozen connections. */
const FD_HEADROOM = 60;
const MAX_CONNECTIONS = 400;

function softLimit(pid: number): number {
  const line = readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max open files'))!;
  return Number(/^Max open files\s+(\d+)/.exec(line)![1]);
}

function hardLimit(pid: number): number {
  const line = readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max open files'))!;
  return Number(/^Max open files\s+\d+\s+(\d+)/.exec(line)![1]);
}

/** A connection that stays open (the echo server holds it) until the test destroys it. */
function hold(address: string, port: number): Promise<Socket> {
  return new Promise((resolve) => {
    const s = connect({ host: address, port });
    s.on('error', () => {});
    s.once('connect', () => resolve(s));
    s.once('close', () => resolve(s));
  });
}

function acceptErrorLines(output: string): Array<{ count: number; total: number }> {
  return output
    .split('\n')
    .filter((l) => l.includes('accepting connections failed'))
    .map((l) => ({ count: Number(/count=(\d+)/.exec(l)![1]), total: Number(/total=(\d+)/.exec(l)![1]) }));
}

test('out of file descriptors: counted, logged once per interval, metrics and admin keep answering', { timeout: 240_000 }, async (t) => {
  const mesh = await startMesh({ nodes: 2 });
  const echo = await deployEcho(mesh, { endpoints: [{ name: 'echo-0', node: 1, ip: mesh.podIp(40) }], client: { name: 'client', node: 1, ip: mesh.podIp(41) } });
  const node = mesh.nodes[0]!;
  const pid = node.proc.proc.pid!;
  const held: Socket[] = [];
  try {
    await t.test('the proxy runs with its soft fd limit at the hard limit and logs it', () => {
      assert.equal(softLimit(pid), hardLimit(pid));
      assert.match(node.proc.output(), new RegExp(`file descriptor limit.*soft=${softLimit(pid)} hard=${hardLimit(pid)}`));
    });

    await t.test('a proxy started under prlimit --nofile=1024:4096 raises its soft limit to 4096', async () => {
      // node-2 again, this time under prlimit.
      await mesh.nodes[1]!.proc.stop();
      const { command, args } = cliCommand(['ztunnel', '--node', 'node-2', '--address', `127.${mesh.base}.0.2`, '--capture-range', `127.${mesh.base}.64.0/19`, '--state-dir', mesh.stateDir, '--control-plane', `${mesh.controlPlaneAddress}:15012`]);
      const child = spawn('prlimit', ['--nofile=1024:4096', command, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b));
      child.stderr.on('data', (b: Buffer) => (out += b));
      try {
        const line = await eventually(() => out.split('\n').find((l) => l.includes('file descriptor limit')), 20_000, 'the limit line');
        assert.match(line, /soft=4096 hard=4096/);
        assert.equal(softLimit(child.pid!), 4096);
      } finally {
        child.kill('SIGKILL');
      }
    });

    await t.test('accept failures are counted and logged, metrics and admin answer, traffic resumes', async () => {
      const inUse = readdirSync(`/proc/${pid}/fd`).length;
      const limit = inUse + FD_HEADROOM;
      execFileSync('prlimit', ['--pid', String(pid), `--nofile=${limit}:${limit}`]);
      assert.equal(softLimit(pid), limit);

      for (let i = 0; i < MAX_CONNECTIONS && acceptErrorLines(node.proc.output()).length === 0; i += 10) {
        // Idle connections to the plaintext inbound: each holds one descriptor of the proxy (no request yet, no dial).
        held.push(...(await Promise.all(Array.from({ length: 10 }, () => hold(node.address, 15006)))));
        await new Promise((r) => setTimeout(r, 100));
      }
      const first = await eventually(() => acceptErrorLines(node.proc.output())[0], 15_000, 'the accept-error line');
      assert.match(node.proc.output(), /\terror\tztunnel\taccepting connections failed\tcount=\d+ lastError="EMFILE"/);
      assert.equal(first.total, first.count, 'the first line reports every error so far');

      // Still out of descriptors (every held connection is open): the control endpoints answer.
      const samples = parsePrometheusText(await mesh.proxyGet(1, 15020, '/metrics'));
      const acceptErrors = total(samples, 'l4mesh_accept_errors_total', { listener: 'inbound_plaintext', code: 'EMFILE' });
      assert.ok(acceptErrors >= first.count, `metric ${acceptErrors} vs first line ${first.count}`);
      assert.equal(await mesh.proxyGet(1, 15021, '/healthz/ready'), 'ready\n');
      assert.equal(JSON.parse(await mesh.proxyGet(1, 15000, '/config_dump')).config.node, 'node-1');
      assert.equal(node.proc.proc.exitCode, null, 'the proxy is still running');

      for (const s of held) s.destroy();
      // Once the connections are gone the proxy carries traffic again.
      const reply = await eventually(async () => {
        const r = await roundTrip(echo.listen.address, echo.listen.port, 'again', 5_000).catch(() => Buffer.alloc(0));
        return r.toString() === 'echo-0\nagain' ? r : undefined;
      }, 30_000, 'a connection through the proxy after the pressure');
      assert.equal(reply.toString(), 'echo-0\nagain');
      // Every error ends up in a log line: the lines' counts add up to the metric (the last line may wait one interval).
      const final = total(parsePrometheusText(await mesh.proxyGet(1, 15020, '/metrics')), 'l4mesh_accept_errors_total');
      const logged = await eventually(() => {
        const lines = acceptErrorLines(node.proc.output());
        const sum = lines.reduce((n, l) => n + l.count, 0);
        return sum === final ? lines : undefined;
      }, 25_000, `log lines adding up to ${final}`);
      assert.equal(logged[logged.length - 1]!.total, final);
    });
  } finally {
    for (const s of held) s.destroy();
    await echo.close();
    await mesh.stop();
  }
});

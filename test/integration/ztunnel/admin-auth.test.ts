// A workload cannot stop or reconfigure a node proxy through :15000, nor reach the proxy's own ports
// through plaintext :15006: mutating admin requests need the proxy's admin token (401 without, 403 wrong),
// the proxy keeps running, and a CONNECT to the proxy's own address or to an unknown address is refused,
// counted in istio_tcp_connections_failed_total and logged at error. The CLI's callers send the token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, startMesh, type TestMesh } from '../../support/mesh.js';
import { deployEcho } from '../../support/echo-service.js';
import { parsePrometheusText } from '../../support/prometheus-text.js';
import { proxyAdminTokenPath, readProxyAdminToken } from '../../../src/dataplane/admin/admin-token.js';
import { quitProxy, setLogLevel } from '../../../src/localrun/node-admin.js';

/** Sends `CONNECT target` in plaintext to node-1's :15006, then `payload`; returns the status line and the rest. */
function plaintextConnect(mesh: TestMesh, target: string, payload: string): Promise<{ status: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: `127.${mesh.base}.0.1`, port: 15006 });
    let data = '';
    socket.on('data', (c) => (data += c.toString()));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head, ...rest] = data.split('\r\n\r\n');
      resolve({ status: head!.split('\r\n')[0]!, body: rest.join('\r\n\r\n') });
    });
    socket.on('connect', () => {
      socket.write(`CONNECT ${target} HTTP/1.1\r\nhost: ${target}\r\n\r\n`);
      setTimeout(() => socket.end(payload), 200);
    });
  });
}

async function admin(mesh: TestMesh, path: string, init: RequestInit = {}): Promise<{ status: number; body: string; wwwAuthenticate: string | null }> {
  const res = await fetch(`http://127.${mesh.base}.0.1:15000${path}`, init);
  return { status: res.status, body: await res.text(), wwwAuthenticate: res.headers.get('www-authenticate') };
}

/** The failed-connection count for node-1's refusals toward `destinationWorkload` (labels as the reporter filled them). */
async function failedToward(mesh: TestMesh, destinationWorkload: string): Promise<number> {
  const samples = parsePrometheusText(await mesh.proxyGet(1, 15020, '/metrics'));
  return samples
    .filter((s) => s.name === 'istio_tcp_connections_failed_total')
    .filter((s) => s.labels.some(([k, v]) => k === 'destination_workload' && v === destinationWorkload))
    .filter((s) => s.labels.some(([k, v]) => k === 'response_flags' && v === 'CONNECT'))
    .reduce((n, s) => n + s.value, 0);
}

test('proxy admin: token for mutations, plaintext inbound only to carried workloads', { timeout: 180_000 }, async (t) => {
  const mesh = await startMesh({ nodes: 1 });
  const echoIp = mesh.podIp(40);
  const address = `127.${mesh.base}.0.1`;
  const echo = await deployEcho(mesh, { endpoints: [{ name: 'echo-0', node: 1, ip: echoIp }], client: { name: 'client', node: 1, ip: mesh.podIp(41) } });
  const proc = mesh.nodes[0]!.proc;
  try {
    await t.test('the token is written 0600 in a 0700 directory of the state dir', () => {
      const file = proxyAdminTokenPath(mesh.stateDir, address);
      assert.equal(file, join(mesh.stateDir, 'admin-tokens', `${address}.token`));
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal(statSync(join(mesh.stateDir, 'admin-tokens')).mode & 0o777, 0o700);
      assert.match(readProxyAdminToken(mesh.stateDir, address)!, /^[0-9a-f]{64}$/);
    });

    await t.test('POST without a token: 401 with WWW-Authenticate; a wrong token: 403; the proxy keeps running', async () => {
      const quit = await admin(mesh, '/quitquitquit', { method: 'POST' });
      assert.equal(quit.status, 401);
      assert.equal(quit.wwwAuthenticate, 'Bearer realm="l4mesh-proxy-admin"');
      const basic = await admin(mesh, '/quitquitquit', { method: 'POST', headers: { authorization: 'Basic YTpi' } });
      assert.equal(basic.status, 401);
      const wrong = await admin(mesh, '/quitquitquit', { method: 'POST', headers: { authorization: `Bearer ${'0'.repeat(64)}` } });
      assert.equal(wrong.status, 403);
      assert.equal(wrong.wwwAuthenticate, null);
      const logging = await admin(mesh, '/logging?level=trace', { method: 'POST' });
      assert.equal(logging.status, 401);
      assert.equal((await admin(mesh, '/logging')).body, 'current log level is info\n');
      assert.equal((await admin(mesh, '/config_dump')).status, 200);
      assert.equal(await mesh.proxyGet(1, 15021, '/healthz/ready'), 'ready\n');
      assert.equal(proc.proc.exitCode, null);
    });

    await t.test('a CONNECT on :15006 to the proxy\'s own admin port is refused, counted and logged', async () => {
      const before = await failedToward(mesh, 'ztunnel');
      const r = await plaintextConnect(mesh, `${address}:15000`, 'GET /config_dump HTTP/1.1\r\nhost: x\r\n\r\n');
      assert.equal(r.status, 'HTTP/1.1 400 Bad Request');
      assert.equal(r.body, '');
      assert.equal(await failedToward(mesh, 'ztunnel'), before + 1);
      const line = await eventually(() => proc.output().split('\n').find((l) => l.includes(`dst.addr=${address}:15000`)), 5_000, 'the refusal line');
      assert.match(line, /\terror\taccess\tconnection complete\t/);
      assert.match(line, new RegExp(`error="${address.replace(/\./g, '\\.')}:15000 is this node proxy's own address; inbound connections only reach workloads"$`));
    });

    await t.test('a CONNECT to an address that is no workload is refused; a workload still works', async () => {
      const unknown = mesh.podIp(99);
      const r = await plaintextConnect(mesh, `${unknown}:7000`, 'x');
      assert.equal(r.status, 'HTTP/1.1 400 Bad Request');
      const line = await eventually(() => proc.output().split('\n').find((l) => l.includes(`dst.addr=${unknown}:7000`)), 5_000, 'the refusal line');
      assert.match(line, new RegExp(`error="no workload at ${unknown.replace(/\./g, '\\.')} on node node-1"$`));
      const ok = await plaintextConnect(mesh, `${echoIp}:7000`, 'plain');
      assert.equal(ok.status, 'HTTP/1.1 200 Connection Established');
      assert.equal(ok.body, 'echo-0\nplain');
    });

    await t.test('the CLI\'s callers send the token: POST /logging works, POST /quitquitquit stops the proxy', async () => {
      assert.equal(await setLogLevel(mesh.stateDir, address, 'debug'), 'current log level is debug\n');
      assert.equal((await admin(mesh, '/logging')).body, 'current log level is debug\n');
      const exited = new Promise<number | null>((resolve) => proc.proc.once('exit', (code) => resolve(code)));
      assert.equal(await quitProxy(mesh.stateDir, address), 'OK\n');
      assert.equal(await exited, 0);
    });
  } finally {
    await echo.close();
    await mesh.stop();
  }
});

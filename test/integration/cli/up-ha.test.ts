// `l4mesh up --ha`: three etcd members and two control-plane replicas on loopback beside the usual node
// proxies; `get pods -n istio-system` and `proxy-status` name the replica each node proxy streams from;
// the CLI keeps working with the first replica killed; `down` stops every process it started.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAlive, readProcessTable } from '../../../src/localrun/processes.js';
import { etcdInstalled } from '../../support/etcd.js';
import { eventually } from '../../support/mesh.js';
import { cliMesh, parseTable } from './cli-fixture.js';

const STATUS = ['NAME', 'PID', 'ADDRESS', 'STATUS'];
const PODS = ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'CONTROL PLANE'];
const PROXIES = ['NAME', 'NODE', 'ADDRESS', 'LAST PUSH', 'CERT EXPIRY', 'ISTIOD'];
const skip = etcdInstalled() ? false : 'etcd is not installed (apt-get install etcd-server; scripts/test-setup.mjs does it)';

test('up --ha runs etcd and two replicas; get pods and proxy-status name each proxy\'s replica; down stops all', { skip, timeout: 300_000 }, async () => {
  const mesh = await cliMesh();
  const b = mesh.base;
  const replicas = [`127.${b}.0.254:15012`, `127.${b}.0.253:15012`];
  const recorded: Array<{ pid: number; startTime: string | null }> = [];
  try {
    const up = await mesh.run(['up', '--ha', '--nodes', '2'], 240_000);
    assert.equal(up.code, 0, up.stdout + up.stderr);
    const table = readProcessTable(mesh.stateDir);
    for (const r of Object.values(table)) recorded.push(r);
    assert.deepEqual(Object.keys(table).sort(), ['control-plane', 'control-plane-2', 'etcd-0', 'etcd-1', 'etcd-2', 'runtime', 'ztunnel-node-1', 'ztunnel-node-2']);
    assert.match(up.stdout, new RegExp(`etcd            http://127\\.${b}\\.0\\.241:2379,http://127\\.${b}\\.0\\.242:2379,http://127\\.${b}\\.0\\.243:2379\\n`));

    const status = await mesh.run(['status']);
    assert.equal(status.code, 0, status.stdout + status.stderr);
    assert.deepEqual(
      parseTable(status.stdout, STATUS).map((r) => [r['NAME'], r['STATUS']]),
      [['etcd-0', 'Running'], ['etcd-1', 'Running'], ['etcd-2', 'Running'], ['control-plane', 'Ready'], ['control-plane-2', 'Ready'], ['ztunnel-node-1', 'Ready'], ['ztunnel-node-2', 'Ready'], ['runtime', 'Running']],
    );

    // Both node proxies were given both replicas and stream from the first; the leader records that.
    const pods = await eventually(async () => {
      const r = await mesh.run(['get', 'pods', '-n', 'istio-system']);
      const rows = parseTable(r.stdout, PODS);
      return rows.length === 2 && rows.every((p) => p['CONTROL PLANE'] === replicas[0]) ? rows : undefined;
    }, 30_000, 'node proxy pods naming the first replica');
    assert.deepEqual(pods.map((p) => [p['NAME'], p['STATUS'], p['CONTROL PLANE']]), [['ztunnel-node-1', 'Running', replicas[0]], ['ztunnel-node-2', 'Running', replicas[0]]]);
    const ps = await mesh.run(['proxy-status']);
    assert.equal(ps.code, 0, ps.stderr);
    assert.deepEqual(parseTable(ps.stdout, PROXIES).map((p) => [p['NAME'], p['ISTIOD']]), [['ztunnel-node-1.istio-system', replicas[0]], ['ztunnel-node-2.istio-system', replicas[0]]]);

    // The first replica dies: the proxies move to the second, and the CLI follows them there.
    process.kill(table['control-plane']!.pid, 'SIGKILL');
    const moved = await eventually(async () => {
      const r = await mesh.run(['proxy-status']);
      const rows = parseTable(r.stdout, PROXIES);
      return r.code === 0 && rows.length === 2 && rows.every((p) => p['ISTIOD'] === replicas[1]) ? rows : undefined;
    }, 60_000, 'both proxies streaming from the second replica');
    assert.deepEqual(moved.map((p) => p['NAME']), ['ztunnel-node-1.istio-system', 'ztunnel-node-2.istio-system']);
    const after = await eventually(async () => {
      const rows = parseTable((await mesh.run(['get', 'pods', '-n', 'istio-system'])).stdout, PODS);
      return rows.length === 2 && rows.every((p) => p['CONTROL PLANE'] === replicas[1]) ? rows : undefined;
    }, 30_000, 'node proxy pods naming the second replica');
    assert.equal(after.length, 2);

    const down = await mesh.run(['down']);
    assert.equal(down.code, 0, down.stdout + down.stderr);
    assert.match(down.stdout, /etcd-2\s+stopped/);
    for (const r of recorded) assert.equal(isAlive(r), false, `pid ${r.pid} still alive after down`);
  } finally {
    await mesh.run(['down']).catch(() => undefined);
    for (const r of recorded) if (isAlive(r)) process.kill(r.pid, 'SIGKILL');
    await mesh.cleanup();
  }
});

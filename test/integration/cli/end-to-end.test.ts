// up → apply → get pods → exec through the mesh → ztunnel-config tables → logs → kill -9 restart → delete → down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isAlive, readProcessTable } from '../../../src/localrun/processes.js';
import { readPodProcesses } from '../../../src/localrun/pod-processes.js';
import { eventually } from '../../support/mesh.js';
import { cliMesh, parseTable } from './cli-fixture.js';

const NODE = process.execPath;

function sample(): string {
  const server = `require('net').createServer((s) => s.end('hello from ' + process.env.POD_NAME + '\\n')).listen(7000, process.env.POD_IP)`;
  return `apiVersion: v1
kind: ServiceAccount
metadata:
  name: echo
---
apiVersion: v1
kind: Service
metadata:
  name: echo
spec:
  selector:
    app: echo
  ports:
  - name: tcp
    port: 7000
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: echo
spec:
  replicas: 2
  selector:
    matchLabels:
      app: echo
  template:
    metadata:
      labels:
        app: echo
    spec:
      serviceAccountName: echo
      containers:
      - name: echo
        image: local/echo
        command: [${JSON.stringify(NODE)}, "-e", ${JSON.stringify(server)}]
        ports:
        - containerPort: 7000
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: client
spec:
  selector:
    matchLabels:
      app: client
  template:
    metadata:
      labels:
        app: client
    spec:
      containers:
      - name: client
        image: local/client
        command: [${JSON.stringify(NODE)}, "-e", "setInterval(() => {}, 1 << 30)"]
`;
}

test('a local mesh runs a sample end to end and leaves no process behind', { timeout: 240_000 }, async () => {
  const mesh = await cliMesh();
  const b = mesh.base;
  const recorded: Array<{ pid: number; startTime: string | null }> = [];
  try {
    const up = await mesh.run(['up', '--nodes', '2']);
    assert.equal(up.code, 0, up.stdout + up.stderr);
    assert.match(up.stdout, /control-plane\s+started \(pid \d+\) \.\.\. ready/);
    assert.match(up.stdout, new RegExp(`node-1 +127\\.${b}\\.0\\.1: HBONE :15008`));
    const again = await mesh.run(['up']);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /Nothing to do: the mesh is already up\./);

    const file = join(mesh.manifestDir, 'sample.yaml');
    await writeFile(file, sample());
    const applied = await mesh.run(['apply', '-f', file]);
    assert.equal(applied.stdout, 'serviceaccount/echo created\nservice/echo created\ndeployment.apps/echo created\ndeployment.apps/client created\n');
    const reapplied = await mesh.run(['apply', '-f', file]);
    assert.equal(reapplied.stdout, 'serviceaccount/echo unchanged\nservice/echo unchanged\ndeployment.apps/echo unchanged\ndeployment.apps/client unchanged\n');

    const pods = await eventually(async () => {
      const r = await mesh.run(['get', 'pods', '-o', 'wide']);
      const rows = parseTable(r.stdout, ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE']);
      return rows.length === 3 && rows.every((p) => p['READY'] === '1/1' && p['STATUS'] === 'Running') ? { text: r.stdout, rows } : undefined;
    }, 60_000, 'three pods Running');
    assert.match(pods.text.split('\n')[0]!, /^NAME +READY +STATUS +RESTARTS +AGE +IP +NODE$/);
    for (const p of pods.rows) {
      assert.match(p['NAME']!, /^(echo|client)-[bcdfghjklmnpqrstvwxz2456789]{10}-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
      assert.match(p['IP']!, new RegExp(`^127\\.${b}\\.[12]\\.\\d+$`));
      // On failure, show why the container restarted (seen once under heavy load; cause not yet known).
      if (p['RESTARTS'] !== '0') assert.fail(`${p['NAME']} restarted: ${p['RESTARTS']}\n${(await mesh.run(['logs', p['NAME']!])).stdout}\n${(await mesh.run(['get', 'pod', p['NAME']!, '-o', 'yaml'])).stdout}`);
    }
    assert.deepEqual(new Set(pods.rows.filter((p) => p['NAME']!.startsWith('echo')).map((p) => p['NODE'])), new Set(['node-1', 'node-2']));

    const svc = await mesh.run(['get', 'svc']);
    assert.match(svc.stdout, new RegExp(`^NAME +TYPE +CLUSTER-IP +EXTERNAL-IP +PORT\\(S\\) +AGE\\necho +ClusterIP +127\\.${b}\\.3\\.\\d+ +<none> +7000/TCP +\\d+s\\n$`));
    const deploy = await mesh.run(['get', 'deploy']);
    assert.match(deploy.stdout, /^NAME +READY +UP-TO-DATE +AVAILABLE +AGE\nclient +1\/1 +1 +1 +\d+s\necho +2\/2 +2 +2 +\d+s\n$/);

    // Three connections through the mesh: round robin reaches both echo pods.
    const replies = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const r = await mesh.run(['exec', 'deploy/client', '--', NODE, '-e', `require('net').connect(+process.env.ECHO_SERVICE_PORT, process.env.ECHO_SERVICE_HOST).pipe(process.stdout)`]);
      assert.equal(r.code, 0, r.stderr);
      replies.add(r.stdout.trim());
    }
    assert.deepEqual(replies, new Set(pods.rows.filter((p) => p['NAME']!.startsWith('echo')).map((p) => `hello from ${p['NAME']}`)));
    const env = await mesh.run(['exec', 'deploy/client', '--', 'sh', '-c', 'echo $POD_NAMESPACE $SERVICE_ACCOUNT $ECHO_SERVICE_PORT; exit 7']);
    assert.equal(env.code, 7);
    assert.equal(env.stdout, 'default default 7000\n');

    const workloads = await mesh.run(['ztunnel-config', 'workloads']);
    assert.equal(workloads.stdout.split('\n')[0]!.replace(/ +/g, ' '), 'NAMESPACE POD NAME IP NODE WAYPOINT PROTOCOL');
    const wrows = parseTable(workloads.stdout, ['NAMESPACE', 'POD NAME', 'IP', 'NODE', 'WAYPOINT', 'PROTOCOL']);
    for (const p of pods.rows) {
      assert.deepEqual(wrows.find((w) => w['POD NAME'] === p['NAME']), { NAMESPACE: 'default', 'POD NAME': p['NAME'], IP: p['IP'], NODE: p['NODE'], WAYPOINT: 'None', PROTOCOL: 'HBONE' });
    }
    const services = await mesh.run(['ztunnel-config', 'services']);
    assert.equal(services.stdout.split('\n')[0]!.replace(/ +/g, ' '), 'NAMESPACE SERVICE NAME SERVICE VIP WAYPOINT ENDPOINTS');
    assert.deepEqual(parseTable(services.stdout, ['NAMESPACE', 'SERVICE NAME', 'SERVICE VIP', 'WAYPOINT', 'ENDPOINTS']).find((s) => s['SERVICE NAME'] === 'echo')?.['ENDPOINTS'], '2/2');
    const certs = await mesh.run(['ztunnel-config', 'certificates']);
    assert.equal(certs.stdout.split('\n')[0]!.replace(/ +/g, ' '), 'CERTIFICATE NAME TYPE STATUS VALID CERT SERIAL NUMBER NOT AFTER NOT BEFORE');
    const crows = parseTable(certs.stdout, ['CERTIFICATE NAME', 'TYPE', 'STATUS', 'VALID CERT', 'SERIAL NUMBER', 'NOT AFTER', 'NOT BEFORE']);
    const echoCerts = crows.filter((c) => c['CERTIFICATE NAME'] === 'spiffe://cluster.local/ns/default/sa/echo');
    assert.deepEqual(echoCerts.map((c) => [c['TYPE'], c['STATUS'], c['VALID CERT']]), [['Leaf', 'Available', 'true'], ['Root', 'Available', 'true']]);
    for (const c of echoCerts) {
      assert.match(c['SERIAL NUMBER']!, /^[0-9a-f]+$/);
      assert.match(c['NOT AFTER']!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    }

    const logs = await mesh.run(['logs', 'ztunnel']);
    assert.match(logs.stdout, /direction="outbound"/);
    assert.match(logs.stdout, /direction="inbound"/);

    // kill -9 of a pod process: the runtime restarts it and RESTARTS shows 1.
    const victim = pods.rows.find((p) => p['NAME']!.startsWith('echo'))!['NAME']!;
    const rec = readPodProcesses(mesh.stateDir)[`default/${victim}/echo`]!;
    process.kill(rec.pid, 'SIGKILL');
    await eventually(async () => {
      const r = await mesh.run(['get', 'pod', victim]);
      const row = parseTable(r.stdout, ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'])[0];
      return row && row['READY'] === '1/1' && /^1 \(\d+s ago\)$/.test(row['RESTARTS']!) ? row : undefined;
    }, 30_000, 'the killed pod running again with RESTARTS 1');
    const echoPodLog = await mesh.run(['logs', victim]);
    assert.equal(echoPodLog.code, 0);

    for (const r of Object.values(readProcessTable(mesh.stateDir))) recorded.push(r);
    for (const r of Object.values(readPodProcesses(mesh.stateDir))) recorded.push(r);
    const deleted = await mesh.run(['delete', '-f', file]);
    assert.equal(deleted.stdout, 'serviceaccount "echo" deleted\nservice "echo" deleted\ndeployment.apps "echo" deleted\ndeployment.apps "client" deleted\n');
    await eventually(async () => {
      const r = await mesh.run(['get', 'pods']);
      return r.stderr === 'No resources found in default namespace.\n' && r.stdout === '';
    }, 30_000, 'pods gone after delete');

    const down = await mesh.run(['down']);
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, /The mesh is down\./);
    for (const r of recorded) assert.equal(isAlive(r), false, `pid ${r.pid} still alive after down`);
  } finally {
    await mesh.run(['down']).catch(() => undefined);
    for (const r of recorded) if (isAlive(r)) process.kill(r.pid, 'SIGKILL');
    await mesh.cleanup();
  }
});

// `l4mesh up --mode netns --nodes 2` as a user runs it: a client and a server on different nodes, an
// unmodified program run with `exec` inside the client pod reaching the server by DNS name (and by VIP),
// exact bytes, access-log lines with pod IPs, istio_tcp_* series with exact labels on both node proxies; an
// opted-out pod's connection stays plain TCP and uncounted; `down` leaves the host exactly as it was.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { accessLogFile } from '../../../src/config/state-layout.js';
import { podNetnsName } from '../../../src/dataplane/capture/netns/topology.js';
import { readPodProcesses } from '../../../src/localrun/pod-processes.js';
import { isAlive, readProcessTable } from '../../../src/localrun/processes.js';
import { eventually } from '../../support/mesh.js';
import { labelsOf, parsePrometheusText, select, total } from '../../support/prometheus-text.js';
import { hostNetworkSnapshot, ip, netnsSkipReason, uniqueTestPrefix } from '../../support/netns.js';
import { cliMesh, parseTable, type CliMesh } from '../cli/cli-fixture.js';

const skip = netnsSkipReason({ iptables: true, addon: true, commands: ['curl', 'setpriv'] });

/** Answers an HTTP GET with a fixed body, and any other stream with `pong:` + what it got once the client half-closed. */
const SERVER = [
  "require('net').createServer((s) => { let b = ''; s.on('error', () => {});",
  "s.on('data', (d) => { b += d; if (b.startsWith('GET ') && b.includes('\\r\\n\\r\\n')) { const body = 'hello from ' + process.env.POD_NAMESPACE + '/' + process.env.HOSTNAME_TAG + '\\n';",
  "s.end('HTTP/1.1 200 OK\\r\\ncontent-length: ' + body.length + '\\r\\nconnection: close\\r\\n\\r\\n' + body); } });",
  "s.on('end', () => { if (!b.startsWith('GET ')) s.end('pong:' + b); }); }).listen(9090, process.env.POD_IP)",
].join(' ');

/** An unmodified one-shot TCP client: connects to argv host:port, sends argv payload, half-closes, prints the reply. */
const CLIENT = [
  'const [h, p, m] = process.argv.slice(1); const s = require("net").connect(Number(p), h, () => s.end(m));',
  'let r = ""; s.on("data", (d) => (r += d)); s.on("end", () => process.stdout.write(r));',
  's.on("error", (e) => { process.stderr.write(String(e.code)); process.exit(3); });',
].join(' ');

function deployment(name: string, node: string, labels: Record<string, string>, command: string[], port?: number): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: ${JSON.stringify({ app: name, ...labels })}}
    spec:
      nodeName: ${node}
      containers:
      - name: main
        image: local/${name}
        command: ${JSON.stringify(command)}
        env: [{name: HOSTNAME_TAG, value: ${name}}]
${port ? `        ports: [{containerPort: ${port}}]
` : ''}`;
}

const OPT_OUT = { 'istio.io/dataplane-mode': 'none' };
const APP = [
  // The namespace label enrolls every pod of `default`; the plain-* pods opt out with their own label.
  'apiVersion: v1\nkind: Namespace\nmetadata: {name: default, labels: {istio.io/dataplane-mode: ambient}}\n',
  'apiVersion: v1\nkind: Service\nmetadata: {name: echo}\nspec:\n  selector: {app: echo}\n  ports: [{name: tcp-echo, port: 9090}]\n',
  deployment('client', 'node-1', {}, ['sleep', '3600']),
  // The declared port makes Ready wait until the server listens (probed inside the pod's namespace).
  deployment('echo', 'node-2', {}, ['node', '-e', SERVER], 9090),
  deployment('plain-client', 'node-1', OPT_OUT, ['sleep', '3600']),
  deployment('plain-echo', 'node-2', OPT_OUT, ['node', '-e', SERVER], 9090),
  // An enrolled server on the client's node, dialled by pod IP: the same-node path.
  deployment('same-node-echo', 'node-1', {}, ['node', '-e', SERVER], 9090),
].join('---\n');

/** Pods are created in namespace/name order, node by node from 198.18.k.2 (DESIGN §2). */
const IPS = { client: '198.18.1.2', echo: '198.18.2.2', 'plain-client': '198.18.1.3', 'plain-echo': '198.18.2.3', 'same-node-echo': '198.18.1.4' };
const PAYLOAD = 'ping over the mesh';

function expectedLabels(reporter: 'source' | 'destination'): Record<string, string> {
  const id = 'spiffe://cluster.local/ns/default/sa/default';
  return {
    reporter,
    source_workload: 'client', source_canonical_service: 'client', source_canonical_revision: 'latest', source_workload_namespace: 'default',
    source_principal: id, source_app: 'client', source_version: 'unknown', source_cluster: 'Kubernetes',
    destination_service: 'echo.default.svc.cluster.local', destination_service_namespace: 'default', destination_service_name: 'echo',
    destination_workload: 'echo', destination_canonical_service: 'echo', destination_canonical_revision: 'latest', destination_workload_namespace: 'default',
    destination_principal: id, destination_app: 'echo', destination_version: 'unknown', destination_cluster: 'Kubernetes',
    request_protocol: 'tcp', response_flags: '-', connection_security_policy: reporter === 'source' ? 'unknown' : 'mutual_tls',
  };
}

describe('l4mesh up --mode netns', { skip, timeout: 240_000 }, () => {
  const prefix = uniqueTestPrefix();
  let mesh: CliMesh;
  let hostBefore: Record<string, string>;
  const recorded: Array<{ pid: number; startTime: string | null }> = [];

  const metrics = async (k: number) => parsePrometheusText(await (await fetch(`http://127.${mesh.base}.0.${k}:15020/metrics`)).text());
  const accessLines = (node: string) => {
    const file = accessLogFile(mesh.stateDir, `ztunnel-${node}`);
    return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l.includes('connection complete')) : [];
  };
  const field = (line: string, name: string) => new RegExp(`(?:^|\\s)${name.replace('.', '\\.')}=("[^"]*"|\\S+)`).exec(line)?.[1]?.replace(/^"|"$/g, '');

  before(async () => {
    hostBefore = hostNetworkSnapshot(prefix);
    mesh = await cliMesh();
    const up = await mesh.run(['up', '--mode', 'netns', '--nodes', '2', '--netns-prefix', prefix], 120_000);
    assert.equal(up.code, 0, up.stdout + up.stderr);
    for (const r of Object.values(readProcessTable(mesh.stateDir))) recorded.push(r);
    await writeFile(join(mesh.manifestDir, 'app.yaml'), APP);
    const applied = await mesh.run(['apply', '-f', join(mesh.manifestDir, 'app.yaml')]);
    assert.equal(applied.code, 0, applied.stdout + applied.stderr);
    let pods = '';
    await eventually(async () => {
      pods = (await mesh.run(['get', 'pods', '-o', 'wide'])).stdout;
      const rows = parseTable(pods, ['NAME', 'READY', 'STATUS']);
      return rows.length === 5 && rows.every((r) => r['READY'] === '1/1') ? rows : undefined;
    }, 120_000, 'five pods Ready').catch((err: Error) => {
      throw new Error(`${err.message}\n${pods}`);
    });
  });

  after(async () => {
    if (!mesh) return;
    await mesh.run(['down'], 90_000).catch(() => undefined);
    for (const r of recorded) if (isAlive(r)) process.kill(r.pid, 'SIGKILL');
    // Only if down failed: the test's own prefix, never anything else.
    for (const n of ip('netns', 'list').split('\n').map((l) => l.split(' ')[0]!)) if (n.startsWith(`${prefix}-`)) spawnSync('ip', ['netns', 'del', n]);
    await mesh.cleanup();
  });

  it('puts pods in namespaces of their nodes with DESIGN §2 addresses; enrolled ones speak HBONE, opted-out ones TCP', async () => {
    const wide = parseTable((await mesh.run(['get', 'pods', '-o', 'wide'])).stdout, ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE']);
    const byDeploy = Object.fromEntries(wide.map((r) => [r['NAME']!.replace(/-[a-z0-9]+-[a-z0-9]+$/, ''), [r['IP'], r['NODE']]]));
    assert.deepEqual(byDeploy, {
      client: [IPS.client, 'node-1'], echo: [IPS.echo, 'node-2'], 'plain-client': [IPS['plain-client'], 'node-1'], 'plain-echo': [IPS['plain-echo'], 'node-2'],
      'same-node-echo': [IPS['same-node-echo'], 'node-1'],
    });
    // <prefix>-fabric, one per node, and <prefix>-<node>-<pod> per pod.
    const netns = ip('netns', 'list').split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith(`${prefix}-`)).sort();
    const expected = [`${prefix}-fabric`, `${prefix}-node-1`, `${prefix}-node-2`, ...wide.map((r) => podNetnsName(prefix, r['NODE']!, 'default', r['NAME']!))];
    assert.deepEqual(netns, expected.sort());
    // Each pod sees its own address on eth0 and nothing of the host.
    const echoNetns = `${prefix}-node-2-${wide.find((r) => r['IP'] === IPS.echo)!['NAME']}`;
    assert.match(ip('-n', echoNetns, '-o', '-4', 'addr', 'show', 'dev', 'eth0'), new RegExp(`inet ${IPS.echo.replace(/\./g, '\\.')}/32 `));
    const table = (await mesh.run(['ztunnel-config', 'workloads'])).stdout;
    const protocols = Object.fromEntries(parseTable(table, ['NAMESPACE', 'POD NAME', 'IP', 'NODE', 'WAYPOINT', 'PROTOCOL'])
      .filter((r) => r['NAMESPACE'] === 'default')
      .map((r) => [r['IP'], r['PROTOCOL']]));
    assert.deepEqual(protocols, { [IPS.client]: 'HBONE', [IPS.echo]: 'HBONE', [IPS['plain-client']]: 'TCP', [IPS['plain-echo']]: 'TCP', [IPS['same-node-echo']]: 'HBONE' }, table);
  });

  it('carries an unmodified curl and a node one-liner from node-1 to node-2 by DNS name and VIP, counted exactly on both proxies', async () => {
    const curl = await mesh.run(['exec', 'deploy/client', '--', 'curl', '-sS', '--max-time', '20', 'http://echo.default.svc.cluster.local:9090/hello']);
    assert.deepEqual([curl.code, curl.stdout, curl.stderr], [0, 'hello from default/echo\n', '']);
    const byName = await mesh.run(['exec', 'deploy/client', '--', 'node', '-e', CLIENT, 'echo', '9090', PAYLOAD]);
    assert.deepEqual([byName.code, byName.stdout], [0, `pong:${PAYLOAD}`], byName.stderr);
    // The VIP from the pod's environment, as a Kubernetes pod has it; and the exit code passes through.
    const byVip = await mesh.run(['exec', 'deploy/client', '--', 'sh', '-c', `node -e '${CLIENT}' "$ECHO_SERVICE_HOST" "$ECHO_SERVICE_PORT" vip; exit 7`]);
    assert.deepEqual([byVip.code, byVip.stdout], [7, 'pong:vip'], byVip.stderr);

    const src = expectedLabels('source');
    const dst = expectedLabels('destination');
    const [m1, m2] = await eventually(async () => {
      const both = [await metrics(1), await metrics(2)] as const;
      return total(both[0], 'istio_tcp_connections_closed_total', src) === 3 && total(both[1], 'istio_tcp_connections_closed_total', dst) === 3 ? both : undefined;
    }, 60_000, 'three closed connections on both node proxies');
    for (const [samples, labels] of [[m1, src], [m2, dst]] as const) {
      const opened = select(samples, 'istio_tcp_connections_opened_total');
      assert.deepEqual(opened.map((s) => [labelsOf(s), s.value]), [[labels, 3]]);
    }

    const outbound = await eventually(() => {
      const lines = accessLines('node-1').filter((l) => l.includes('direction="outbound"'));
      return lines.length === 3 ? lines : undefined;
    }, 30_000, 'three outbound access-log lines on node-1');
    const inbound = await eventually(() => {
      const lines = accessLines('node-2').filter((l) => l.includes('direction="inbound"'));
      return lines.length === 3 ? lines : undefined;
    }, 30_000, 'three inbound access-log lines on node-2');
    for (const line of outbound) {
      assert.equal(field(line, 'src.addr')?.split(':')[0], IPS.client, line);
      // As ztunnel logs a tunnel: dst.addr is where it goes (the pod IP:15008), dst.hbone_addr the target in it.
      assert.equal(field(line, 'dst.addr'), `${IPS.echo}:15008`, line);
      assert.equal(field(line, 'dst.hbone_addr'), `${IPS.echo}:9090`, line);
      assert.equal(field(line, 'dst.service'), 'echo.default.svc.cluster.local', line);
    }
    for (const line of inbound) assert.equal(field(line, 'src.addr')?.split(':')[0], IPS.client, line);
    // The one-liners' lines carry exactly their bytes; the metrics add up to the lines' sums on each side.
    // [client → server (the metric's received), server → client]: the source's line says what it sent to the
    // server, the destination's what it received from the client.
    const bytes = (lines: string[], toServer: string, toClient: string) => lines.map((l) => [Number(field(l, toServer)), Number(field(l, toClient))]);
    for (const [counted, samples, labels] of [[bytes(outbound, 'bytes_sent', 'bytes_recv'), m1, src], [bytes(inbound, 'bytes_recv', 'bytes_sent'), m2, dst]] as const) {
      assert.ok(counted.some(([r, s]) => r === PAYLOAD.length && s === `pong:${PAYLOAD}`.length), JSON.stringify(counted));
      assert.ok(counted.some(([r, s]) => r === 3 && s === 'pong:vip'.length), JSON.stringify(counted));
      assert.equal(total(samples, 'istio_tcp_received_bytes_total', labels), counted.reduce((n, [r]) => n + r!, 0));
      assert.equal(total(samples, 'istio_tcp_sent_bytes_total', labels), counted.reduce((n, [, s]) => n + s!, 0));
    }
  });

  it('leaves an opted-out pod\'s connection plain TCP and uncounted', async () => {
    const before1 = total(await metrics(1), 'istio_tcp_connections_opened_total');
    const before2 = total(await metrics(2), 'istio_tcp_connections_opened_total');
    const lines = accessLines('node-1').length + accessLines('node-2').length;
    const r = await mesh.run(['exec', 'deploy/plain-client', '--', 'node', '-e', CLIENT, IPS['plain-echo'], '9090', 'plain']);
    assert.deepEqual([r.code, r.stdout], [0, 'pong:plain'], r.stderr);
    // A marker through the mesh afterwards: once both proxies counted it, anything before it would be counted too.
    const marker = await mesh.run(['exec', 'deploy/client', '--', 'node', '-e', CLIENT, 'echo', '9090', 'marker']);
    assert.deepEqual([marker.code, marker.stdout], [0, 'pong:marker'], marker.stderr);
    await eventually(async () => total(await metrics(1), 'istio_tcp_connections_closed_total') === before1 + 1
      && total(await metrics(2), 'istio_tcp_connections_closed_total') === before2 + 1, 60_000, 'the marker counted on both proxies');
    assert.equal(total(await metrics(1), 'istio_tcp_connections_opened_total'), before1 + 1);
    assert.equal(total(await metrics(2), 'istio_tcp_connections_opened_total'), before2 + 1);
    const after = [...accessLines('node-1'), ...accessLines('node-2')];
    assert.equal(after.length, lines + 2);
    assert.deepEqual(after.filter((l) => l.includes(IPS['plain-client']) || l.includes(IPS['plain-echo'])), []);
  });

  it('takes a pod IP dialled directly to that pod over HBONE', async () => {
    const lines = accessLines('node-1').length;
    const r = await mesh.run(['exec', 'deploy/client', '--', 'node', '-e', CLIENT, IPS.echo, '9090', 'direct']);
    assert.deepEqual([r.code, r.stdout], [0, 'pong:direct'], r.stderr);
    const line = await eventually(() => accessLines('node-1').slice(lines).find((l) => l.includes('direction="outbound"')), 30_000, 'the outbound line of the direct connection');
    assert.equal(field(line, 'src.addr')?.split(':')[0], IPS.client, line);
    assert.deepEqual(['dst.addr', 'dst.hbone_addr', 'bytes_sent', 'bytes_recv'].map((f) => field(line, f)),
      [`${IPS.echo}:15008`, `${IPS.echo}:9090`, '6', String('pong:direct'.length)], line);
    assert.match(field(line, 'dst.workload')!, /^echo-[a-z0-9]+-[a-z0-9]+$/);
  });

  it('logs pod IPs in src.addr, dst.addr and dst.hbone_addr on both ends, cross-node and same-node, and a plain-TCP pod as dialled', async () => {
    // A probe from a fixed local port, so both proxies' lines can be matched to it exactly.
    const probe = async (target: string, localPort: number) => {
      const before = { 'node-1': accessLines('node-1').length, 'node-2': accessLines('node-2').length };
      const r = await mesh.run(['exec', 'deploy/client', '--', 'curl', '-sS', '--max-time', '20', '--local-port', String(localPort), `http://${target}:9090/probe`]);
      assert.equal(r.code, 0, r.stderr);
      return before;
    };
    const addrs = (line: string) => ['direction', 'src.addr', 'dst.addr', 'dst.hbone_addr'].map((f) => field(line, f));
    const linesSince = (node: 'node-1' | 'node-2', from: number, port: number) =>
      accessLines(node).slice(from).filter((l) => field(l, 'src.addr') === `${IPS.client}:${port}`);

    const crossPort = 41_001;
    const cross = await probe(IPS.echo, crossPort);
    const out = await eventually(() => linesSince('node-1', cross['node-1'], crossPort).find((l) => l.includes('direction="outbound"')), 30_000, 'the cross-node outbound line');
    const inb = await eventually(() => linesSince('node-2', cross['node-2'], crossPort).find((l) => l.includes('direction="inbound"')), 30_000, 'the cross-node inbound line');
    const crossExpected = [`${IPS.client}:${crossPort}`, `${IPS.echo}:15008`, `${IPS.echo}:9090`];
    assert.deepEqual(addrs(out), ['outbound', ...crossExpected], out);
    assert.deepEqual(addrs(inb), ['inbound', ...crossExpected], inb);

    const samePort = 41_002;
    const same = await probe(IPS['same-node-echo'], samePort);
    const both = await eventually(() => {
      const lines = linesSince('node-1', same['node-1'], samePort);
      return lines.length === 2 ? lines : undefined;
    }, 30_000, 'the same-node outbound and inbound lines on node-1');
    const sameExpected = [`${IPS.client}:${samePort}`, `${IPS['same-node-echo']}:15008`, `${IPS['same-node-echo']}:9090`];
    assert.deepEqual(both.map(addrs).sort(), [['inbound', ...sameExpected], ['outbound', ...sameExpected]], both.join('\n'));

    // A pod outside the mesh, dialled by pod IP from an enrolled one: plain TCP, so the address dialled is
    // dst.addr and there is no dst.hbone_addr; its node proxy carries nothing.
    const plainPort = 41_003;
    const plain = await probe(IPS['plain-echo'], plainPort);
    const toPlain = await eventually(() => linesSince('node-1', plain['node-1'], plainPort).find((l) => l.includes('direction="outbound"')), 30_000, 'the outbound line to the pod outside the mesh');
    assert.deepEqual(addrs(toPlain), ['outbound', `${IPS.client}:${plainPort}`, `${IPS['plain-echo']}:9090`, undefined], toPlain);
    assert.deepEqual(linesSince('node-2', plain['node-2'], plainPort), []);
  });

  it('plaintext from an opted-out pod into an enrolled one arrives on the inbound capture; STRICT refuses it', async () => {
    const open = await mesh.run(['exec', 'deploy/plain-client', '--', 'node', '-e', CLIENT, IPS.echo, '9090', 'plain-in']);
    assert.deepEqual([open.code, open.stdout], [0, 'pong:plain-in'], open.stderr);
    const counted = await eventually(() => accessLines('node-2').find((l) => l.includes('direction="inbound"') && l.includes(`src.addr=${IPS['plain-client']}:`)), 30_000, 'the plaintext inbound line');
    assert.deepEqual([field(counted, 'dst.addr'), field(counted, 'bytes_recv'), field(counted, 'bytes_sent')], [`${IPS.echo}:9090`, '8', String('pong:plain-in'.length)]);
    await writeFile(join(mesh.manifestDir, 'strict.yaml'), 'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: strict}\nspec: {mtls: {mode: STRICT}}\n');
    assert.equal((await mesh.run(['apply', '-f', join(mesh.manifestDir, 'strict.yaml')])).code, 0);
    const refused = await eventually(async () => {
      const r = await mesh.run(['exec', 'deploy/plain-client', '--', 'node', '-e', CLIENT, IPS.echo, '9090', 'strict']);
      return r.code === 3 ? r : undefined;
    }, 60_000, 'STRICT pushed to node-2 and the plaintext connection refused');
    assert.match(refused.stderr, /^(ECONNRESET|EPIPE)$/);
    assert.equal(refused.stdout, '');
    const denied = await eventually(() => accessLines('node-2').find((l) => l.includes(`src.addr=${IPS['plain-client']}:`) && l.includes('denied')), 30_000, 'the refusal in node-2\'s access log');
    assert.match(denied, /\terror\t/);
    // Mesh traffic is mutual TLS and still flows.
    const mtls = await mesh.run(['exec', 'deploy/client', '--', 'node', '-e', CLIENT, 'echo', '9090', 'mtls']);
    assert.deepEqual([mtls.code, mtls.stdout], [0, 'pong:mtls'], mtls.stderr);
  });

  it('after every process was SIGKILLed, a rerun of up rebuilds the network and the pods work again', async () => {
    const procs = [...Object.values(readProcessTable(mesh.stateDir)), ...Object.values(readPodProcesses(mesh.stateDir))];
    for (const r of procs) {
      if (!isAlive(r)) continue;
      try {
        process.kill(-r.pid, 'SIGKILL');
      } catch {
        process.kill(r.pid, 'SIGKILL');
      }
    }
    await eventually(() => procs.every((r) => !isAlive(r)), 30_000, 'every process of the mesh gone');
    // What the crash left: the fabric, the nodes and the pods' namespaces.
    assert.equal(ip('netns', 'list').split('\n').filter((l) => l.startsWith(`${prefix}-`)).length, 8);
    const up = await mesh.run(['up'], 120_000);
    assert.equal(up.code, 0, up.stdout + up.stderr);
    assert.match(up.stdout, new RegExp(`Building the network namespaces \\(${prefix}-fabric, 2 nodes\\) \\.\\.\\. done`));
    for (const r of Object.values(readProcessTable(mesh.stateDir))) recorded.push(r);
    const curl = await eventually(async () => {
      const r = await mesh.run(['exec', 'deploy/client', '--', 'curl', '-sS', '--max-time', '10', 'http://echo:9090/again']);
      return r.code === 0 ? r : undefined;
    }, 90_000, 'the client reaching echo again');
    assert.equal(curl.stdout, 'hello from default/echo\n');
    assert.equal(ip('netns', 'list').split('\n').filter((l) => l.startsWith(`${prefix}-`)).length, 8);
  });

  it('down removes every namespace, link, /etc/netns file and rule it made', async () => {
    const down = await mesh.run(['down'], 90_000);
    assert.equal(down.code, 0, down.stdout + down.stderr);
    assert.deepEqual(ip('netns', 'list').split('\n').filter((l) => l.startsWith(`${prefix}-`)), []);
    assert.deepEqual(existsSync('/etc/netns') ? readdirSync('/etc/netns').filter((n) => n.startsWith(`${prefix}-`)) : [], []);
    assert.deepEqual(hostNetworkSnapshot(prefix), hostBefore);
  });
});

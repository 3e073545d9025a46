// netns topology: two nodes on the fabric bridge, a pod on each; a plain TCP connection from pod A to pod
// B's IP crosses veths and node routes with the pod addresses intact; teardown (also after a crash)
// leaves the host's namespaces, links, /etc/netns and iptables as they were.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { L4meshError } from '../../../src/errors/index.js';
import { connectFromNetns, listenTcpInNetns } from '../../../src/dataplane/capture/netns/native.js';
import { NetnsTopology, TCP_TW_REUSE_FILE } from '../../../src/dataplane/capture/netns/topology.js';
import { hostNetworkSnapshot, inNetns, ip, netnsSkipReason, tcpClientInNetns, uniqueTestPrefix } from '../../support/netns.js';
import { closerOf } from '../../support/workloads.js';

const skip = netnsSkipReason({ iptables: true, addon: true });
/** Building two nodes and two pods is a few dozen `ip` calls; generous for a loaded 2-core box. */
const CHILD_READY_MS = 60_000;

describe('netns topology', { skip }, () => {
  const prefixes: string[] = [];
  after(async () => {
    for (const p of prefixes) await new NetnsTopology(p).destroy();
  });

  it('carries pod A → pod B across two nodes with pod IPs intact, and tears down to the host as it was', async () => {
    const prefix = uniqueTestPrefix();
    prefixes.push(prefix);
    const before = hostNetworkSnapshot(prefix);
    const topology = new NetnsTopology(prefix);
    await topology.createFabric();
    const n1 = await topology.addNode('n1', 1);
    await topology.addNode('n2', 2, [n1]);
    const a = await topology.addPod({ node: 'n1', nodeIndex: 1, namespace: 'default', pod: 'a', host: 2 });
    const b = await topology.addPod({ node: 'n2', nodeIndex: 2, namespace: 'shop', pod: 'b', host: 7 });
    assert.deepEqual([a, b], [
      { netns: `${prefix}-n1-a`, ip: '198.18.1.2', gateway: '198.18.1.1' },
      { netns: `${prefix}-n2-b`, ip: '198.18.2.7', gateway: '198.18.2.1' },
    ]);
    assert.equal(readFileSync(`/etc/netns/${prefix}-n2-b/resolv.conf`, 'utf8'),
      'nameserver 198.18.2.1\nsearch shop.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n');
    assert.equal(inNetns(b.netns, 'cat', '/etc/resolv.conf'), readFileSync(`/etc/netns/${prefix}-n2-b/resolv.conf`, 'utf8'));
    assert.match(ip('-n', `${prefix}-n1`, 'route', 'show', '198.18.2.0/24'), /^198\.18\.2\.0\/24 via 198\.18\.0\.12 dev eth0/);
    // Every link the mesh made carries 64 KiB packets (LINK_MTU), as loopback does: pod, node, fabric and bridge.
    const mtu = (netns: string, dev: string) => /\bmtu (\d+)\b/.exec(ip('-n', netns, '-o', 'link', 'show', dev))?.[1];
    assert.deepEqual([mtu(a.netns, 'eth0'), mtu(`${prefix}-n1`, 'l4mp2'), mtu(`${prefix}-n1`, 'eth0'), mtu(`${prefix}-fabric`, 'l4mn1'), mtu(`${prefix}-fabric`, 'l4mbr0')].map(Number), [65535, 65535, 65535, 65535, 65535]);

    const server = await listenTcpInNetns(b.netns, b.ip, 8080);
    const peers: string[] = [];
    const closeServer = closerOf(server);
    server.on('connection', (s: Socket) => {
      peers.push(`${s.remoteAddress}→${s.localAddress}:${s.localPort}`);
      s.resume();
      s.on('end', () => s.end('pong'));
    });
    try {
      assert.deepEqual(await tcpClientInNetns(a.netns, b.ip, 8080, 'ping'), { reply: 'pong' });
      assert.deepEqual(await tcpClientInNetns(b.netns, b.ip, 8080, 'self'), { reply: 'pong' });
      assert.deepEqual(peers, ['198.18.1.2→198.18.2.7:8080', '198.18.2.7→198.18.2.7:8080']);
      // The bytes crossed the node veths: pod A's node end sent them on, pod B's node end delivered them.
      const txPackets = (netns: string, dev: string) => Number(readStat(netns, dev));
      assert.ok(txPackets(`${prefix}-n2`, 'l4mp7') > 0);
    } finally {
      await closeServer();
    }

    // The node proxy's last hop into a pod (pod IP to pod IP, closed by the proxy first) reuses its own
    // TIME_WAIT ports: with two ephemeral ports, four connections one after the other all get one.
    assert.equal(inNetns(b.netns, 'cat', TCP_TW_REUSE_FILE), '1\n');
    inNetns(b.netns, 'sh', '-c', 'echo 40000 40001 > /proc/sys/net/ipv4/ip_local_port_range');
    const sink = await listenTcpInNetns(b.netns, b.ip, 8081);
    const closeSink = closerOf(sink);
    sink.on('connection', (s: Socket) => s.resume().on('end', () => s.end()));
    const ports: number[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        // A TIME_WAIT port is reused once it is a second old.
        if (i === 2) await new Promise((r) => setTimeout(r, 1_100));
        const c = await connectFromNetns(b.netns, { localIp: b.ip, host: b.ip, port: 8081, timeoutMs: 5_000 });
        ports.push(c.localPort!);
        c.resume();
        c.end();
        await once(c, 'close');
      }
    } finally {
      await closeSink();
    }
    assert.deepEqual(ports.map((p) => p === 40000 || p === 40001), [true, true, true, true]);

    // One pod leaves: its namespace, resolv.conf, node-side veth and /32 route go; the other pod stays.
    // A socket still open in it (a node proxy's listener not yet closed) keeps the kernel from freeing the
    // namespace, and with it the veth and route, until it closes; removePod must not wait for that.
    const lingering = await listenTcpInNetns(b.netns, b.ip, 8082);
    const closeLingering = closerOf(lingering);
    try {
      await topology.removePod('n2', 'shop', 'b');
      assert.equal(existsSync(`/etc/netns/${prefix}-n2-b`), false);
      assert.deepEqual(ip('netns', 'list').split('\n').filter((l) => l.startsWith(`${prefix}-`)).map((l) => l.split(' ')[0]).sort(),
        [`${prefix}-fabric`, `${prefix}-n1`, `${prefix}-n1-a`, `${prefix}-n2`]);
      assert.equal(ip('-n', `${prefix}-n2`, 'route', 'show', '198.18.2.7/32'), '');
      assert.equal(ip('-n', `${prefix}-n2`, '-o', 'link', 'show').includes('l4mp7'), false);
    } finally {
      await closeLingering();
    }

    await topology.destroy();
    assert.deepEqual(hostNetworkSnapshot(prefix), before);
    assert.equal(existsSync(`/run/l4m-netns/${prefix}`), false);
  });

  it('refuses a namespace it did not make and leaves it alone', async () => {
    const prefix = uniqueTestPrefix();
    prefixes.push(prefix);
    ip('netns', 'add', `${prefix}-fabric`);
    const topology = new NetnsTopology(prefix);
    await assert.rejects(topology.createFabric(), (err: unknown) => {
      assert.ok(err instanceof L4meshError);
      assert.equal(err.code, 'L4MESH_ERR_CONFLICT');
      assert.equal(err.message, `network namespace ${prefix}-fabric already exists and is not this mesh's; remove it (ip netns del ${prefix}-fabric) or choose other names`);
      return true;
    });
    await topology.destroy();
    assert.ok(ip('netns', 'list').split('\n').some((l) => l.startsWith(`${prefix}-fabric`)));
    ip('netns', 'del', `${prefix}-fabric`);
  });

  it('removes the leftovers of a run killed with SIGKILL', async () => {
    const prefix = uniqueTestPrefix();
    prefixes.push(prefix);
    const before = hostNetworkSnapshot(prefix);
    const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'support', 'netns-topology-child.js');
    const child = spawn(process.execPath, [script, prefix], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('topology child not ready')), CHILD_READY_MS);
      child.stdout.on('data', (c: Buffer) => { if (c.toString().includes('ready')) { clearTimeout(timer); resolve(); } });
      child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`topology child exited ${code}`)); });
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const left = ip('netns', 'list').split('\n').filter((l) => l.startsWith(`${prefix}-`)).map((l) => l.split(' ')[0]).sort();
    assert.deepEqual(left, [`${prefix}-fabric`, `${prefix}-n1`, `${prefix}-n1-a`, `${prefix}-n2`, `${prefix}-n2-b`]);

    // What `up` does first on a rerun.
    await new NetnsTopology(prefix).createFabric();
    assert.deepEqual(ip('netns', 'list').split('\n').filter((l) => l.startsWith(`${prefix}-`)).map((l) => l.split(' ')[0]), [`${prefix}-fabric`]);
    await new NetnsTopology(prefix).destroy();
    assert.deepEqual(hostNetworkSnapshot(prefix), before);
  });
});

function readStat(netns: string, dev: string): string {
  return inNetns(netns, 'cat', `/sys/class/net/${dev}/statistics/tx_packets`).trim();
}

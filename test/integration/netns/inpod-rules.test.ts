// In-pod redirection of an enrolled pod, end to end in real namespaces: outbound TCP to a VIP or a pod
// arrives on :15001 with its original destination, inbound plaintext on :15006, HBONE on :15008 untouched,
// DNS udp/tcp 53 on :15053, loopback and proxy-marked sockets not captured; removal restores plain TCP.
import assert from 'node:assert/strict';
import type { Server, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { bindUdpInNetns, listenTcpInNetns, originalDestination } from '../../../src/dataplane/capture/netns/native.js';
import { applyInpodRules, removeInpodRules } from '../../../src/dataplane/capture/netns/inpod-rules.js';
import { PROXY_SOCKET_MARK } from '../../../src/dataplane/capture/netns/plan.js';
import { NetnsTopology, type PodNetns } from '../../../src/dataplane/capture/netns/topology.js';
import { inNetns, markedTcpClientInNetns, netnsSkipReason, tcpClientInNetns, uniqueTestPrefix } from '../../support/netns.js';

const skip = netnsSkipReason({ iptables: true, addon: true });

/** A listener that answers `<name>:<original destination>:<payload>` and records the peer. */
async function tagged(netns: string, ip: string, port: number, name: string, seen: string[], redirected: boolean): Promise<Server> {
  const server = await listenTcpInNetns(netns, ip, port);
  server.on('connection', (s: Socket) => {
    const dst = redirected ? originalDestination(s) : { address: s.localAddress, port: s.localPort };
    let data = '';
    s.on('data', (c: Buffer) => { data += c.toString(); });
    s.on('end', () => {
      seen.push(`${name} ${s.remoteAddress}→${dst.address}:${dst.port} ${data}`);
      s.end(`${name}:${dst.address}:${dst.port}:${data}`);
    });
  });
  return server;
}

describe('in-pod redirection rules', { skip }, () => {
  const topology = new NetnsTopology(uniqueTestPrefix());
  const servers: Server[] = [];
  const seen: string[] = [];
  let a: PodNetns;
  let b: PodNetns;

  before(async () => {
    await topology.createFabric();
    const n1 = await topology.addNode('n1', 1);
    await topology.addNode('n2', 2, [n1]);
    a = await topology.addPod({ node: 'n1', nodeIndex: 1, namespace: 'default', pod: 'a', host: 2 });
    b = await topology.addPod({ node: 'n2', nodeIndex: 2, namespace: 'default', pod: 'b', host: 3 });
    await applyInpodRules(a.netns);
    // The "node proxy" side: its four in-pod listeners in pod A.
    servers.push(await tagged(a.netns, '0.0.0.0', 15001, 'outbound', seen, true));
    servers.push(await tagged(a.netns, '0.0.0.0', 15006, 'inbound', seen, true));
    servers.push(await tagged(a.netns, a.ip, 15008, 'hbone', seen, false));
    servers.push(await tagged(a.netns, '0.0.0.0', 15053, 'dns-tcp', seen, true));
    // The applications: pod A's own server, and pod B's (unenrolled).
    servers.push(await tagged(a.netns, '0.0.0.0', 8080, 'app-a', seen, false));
    servers.push(await tagged(b.netns, b.ip, 8080, 'app-b', seen, false));
  });

  after(async () => {
    for (const s of servers) s.close();
    await topology.destroy();
  });

  it('sends outbound TCP to a VIP or a pod IP to :15001 with the original destination', async () => {
    seen.length = 0;
    assert.deepEqual(await tcpClientInNetns(a.netns, '198.19.0.5', 9080, 'v'), { reply: 'outbound:198.19.0.5:9080:v' });
    assert.deepEqual(await tcpClientInNetns(a.netns, b.ip, 8080, 'p'), { reply: 'outbound:198.18.2.3:8080:p' });
    assert.deepEqual(seen, ['outbound 198.18.1.2→198.19.0.5:9080 v', 'outbound 198.18.1.2→198.18.2.3:8080 p']);
  });

  it('leaves 127.0.0.1 and the proxy\'s marked sockets alone', async () => {
    seen.length = 0;
    assert.deepEqual(await tcpClientInNetns(a.netns, '127.0.0.1', 8080, 'l'), { reply: 'app-a:127.0.0.1:8080:l' });
    assert.equal(await markedTcpClientInNetns(a.netns, PROXY_SOCKET_MARK, b.ip, 8080, 'm'), 'app-b:198.18.2.3:8080:m');
    assert.deepEqual(seen, ['app-a 127.0.0.1→127.0.0.1:8080 l', 'app-b 198.18.1.2→198.18.2.3:8080 m']);
  });

  it('sends inbound plaintext to :15006 and lets HBONE reach :15008 on the pod IP', async () => {
    seen.length = 0;
    assert.deepEqual(await tcpClientInNetns(b.netns, a.ip, 8080, 'in'), { reply: 'inbound:198.18.1.2:8080:in' });
    assert.deepEqual(await tcpClientInNetns(b.netns, a.ip, 15008, 'h'), { reply: 'hbone:198.18.1.2:15008:h' });
    // The proxy's own connection into its pod's application is not captured again.
    assert.equal(await markedTcpClientInNetns(a.netns, PROXY_SOCKET_MARK, a.ip, 8080, 'd'), 'app-a:198.18.1.2:8080:d');
    assert.deepEqual(seen, ['inbound 198.18.2.3→198.18.1.2:8080 in', 'hbone 198.18.2.3→198.18.1.2:15008 h', 'app-a 198.18.1.2→198.18.1.2:8080 d']);
  });

  it('sends DNS over UDP and TCP port 53 to :15053', async () => {
    seen.length = 0;
    const udp = await bindUdpInNetns(a.netns, '0.0.0.0', 15053);
    try {
      const got = new Promise<string>((resolve) => udp.once('message', (m: Buffer) => resolve(m.toString())));
      inNetns(a.netns, process.execPath, '-e',
        "require('dgram').createSocket('udp4').send('query', 53, '198.18.1.1', (e) => process.exit(e ? 1 : 0))");
      assert.equal(await got, 'query');
    } finally {
      udp.close();
    }
    assert.deepEqual(await tcpClientInNetns(a.netns, '198.18.1.1', 53, 'q'), { reply: 'dns-tcp:198.18.1.1:53:q' });
  });

  it('goes back to plain TCP when the rules are removed', async () => {
    seen.length = 0;
    await removeInpodRules(a.netns);
    try {
      assert.deepEqual(await tcpClientInNetns(a.netns, b.ip, 8080, 'p'), { reply: 'app-b:198.18.2.3:8080:p' });
      assert.deepEqual(await tcpClientInNetns(b.netns, a.ip, 8080, 'i'), { reply: 'app-a:198.18.1.2:8080:i' });
      assert.deepEqual(seen, ['app-b 198.18.1.2→198.18.2.3:8080 p', 'app-a 198.18.2.3→198.18.1.2:8080 i']);
    } finally {
      await applyInpodRules(a.netns);
    }
  });
});

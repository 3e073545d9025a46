// The netns addon: a listener opened in another namespace accepts there and not in the caller's; the
// original destination of a REDIRECTed connection; SO_MARK; the errors an operator sees.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { connect, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { L4meshError } from '../../../src/errors/index.js';
import {
  bindUdpInNetns, connectFromNetns, listenTcpInNetns, markSocket, originalDestination, socketMark,
} from '../../../src/dataplane/capture/netns/native.js';
import { PROXY_SOCKET_MARK } from '../../../src/dataplane/capture/netns/plan.js';
import { inNetns, ip, netnsSkipReason, tcpClientInNetns, uniqueTestPrefix } from '../../support/netns.js';

const skip = netnsSkipReason({ iptables: true, addon: true });

/** A port on 127.0.0.1 that nothing in the host namespace listens on right now. */
async function refusedInHost(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.on('connect', () => { s.destroy(); resolve('connected'); });
    s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

describe('netns addon', { skip }, () => {
  const prefix = uniqueTestPrefix();
  const ns = `${prefix}-a`;
  const servers: Server[] = [];

  before(() => {
    ip('netns', 'add', ns);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    // A veth pair with both ends in the namespace gives it a route to the VIP range (containers often
    // lack the dummy link module); the REDIRECT below never lets a packet out.
    ip('-n', ns, 'link', 'add', 'l4mva', 'type', 'veth', 'peer', 'name', 'l4mvb');
    ip('-n', ns, 'addr', 'add', '198.18.250.2/24', 'dev', 'l4mva');
    ip('-n', ns, 'link', 'set', 'l4mva', 'up');
    ip('-n', ns, 'link', 'set', 'l4mvb', 'up');
    ip('-n', ns, 'route', 'add', '198.19.0.0/16', 'dev', 'l4mva');
  });

  after(() => {
    for (const s of servers) s.close();
    ip('netns', 'del', ns);
  });

  it('accepts inside the namespace it was opened in, not in the caller\'s', async () => {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const server = await listenTcpInNetns(ns, '127.0.0.1', port);
    servers.push(server);
    const seen: Array<{ remote: string; data: string }> = [];
    server.on('connection', (s: Socket) => {
      let data = '';
      s.on('data', (c: Buffer) => { data += c.toString(); });
      s.on('end', () => { seen.push({ remote: s.remoteAddress ?? '', data }); s.end(`echo:${data}`); });
    });
    assert.deepEqual(await tcpClientInNetns(ns, '127.0.0.1', port, 'hello'), { reply: 'echo:hello' });
    assert.deepEqual(seen, [{ remote: '127.0.0.1', data: 'hello' }]);
    assert.equal(await refusedInHost(port), 'ECONNREFUSED');
    assert.equal(seen.length, 1);
  });

  it('reads the original destination of a connection REDIRECTed by iptables', async () => {
    inNetns(ns, 'iptables', '-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '-d', '198.19.0.0/16', '-j', 'REDIRECT', '--to-ports', '15001');
    const server = await listenTcpInNetns(ns, '0.0.0.0', 15001);
    servers.push(server);
    const dsts: Array<{ address: string; port: number }> = [];
    server.on('connection', (s: Socket) => {
      dsts.push(originalDestination(s));
      s.resume();
      s.on('end', () => s.end('ok'));
    });
    assert.deepEqual(await tcpClientInNetns(ns, '198.19.7.7', 9080, 'x'), { reply: 'ok' });
    assert.deepEqual(await tcpClientInNetns(ns, '198.19.0.200', 5432, 'y'), { reply: 'ok' });
    assert.deepEqual(dsts, [{ address: '198.19.7.7', port: 9080 }, { address: '198.19.0.200', port: 5432 }]);
  });

  it('sets and reads back SO_MARK on a socket', async () => {
    const server = await listenTcpInNetns(ns, '127.0.0.1', 0);
    servers.push(server);
    const accepted = new Promise<number>((resolve) => server.on('connection', (s: Socket) => {
      markSocket(s, PROXY_SOCKET_MARK);
      resolve(socketMark(s));
      s.destroy();
    }));
    const addr = server.address();
    assert.ok(addr && typeof addr === 'object');
    await tcpClientInNetns(ns, '127.0.0.1', addr.port, 'z');
    assert.equal(await accepted, 0x539);
  });

  it('binds a UDP socket inside the namespace', async () => {
    const udp = await bindUdpInNetns(ns, '127.0.0.1', 15053);
    const got = new Promise<string>((resolve) => udp.once('message', (m: Buffer) => resolve(m.toString())));
    inNetns(ns, process.execPath, '-e',
      "require('dgram').createSocket('udp4').send('dns?', 15053, '127.0.0.1', (e) => process.exit(e ? 1 : 0))");
    assert.equal(await got, 'dns?');
    udp.close();
  });

  it('connects out of the namespace from a given source address, marked, both directions carrying bytes', async () => {
    const server = await listenTcpInNetns(ns, '198.18.250.2', 0);
    servers.push(server);
    const peers: string[] = [];
    server.on('connection', (s: Socket) => {
      peers.push(`${s.remoteAddress}`);
      let data = '';
      s.on('data', (c: Buffer) => { data += c.toString(); });
      s.on('end', () => s.end(`echo:${data}`));
    });
    const port = (server.address() as { port: number }).port;
    const client = await connectFromNetns(ns, { localIp: '198.18.250.2', host: '198.18.250.2', port, mark: PROXY_SOCKET_MARK });
    assert.equal(socketMark(client), 0x539);
    assert.equal(client.localAddress, '198.18.250.2');
    const reply = await new Promise<string>((resolve, reject) => {
      let data = '';
      client.on('data', (c: Buffer) => { data += c.toString(); });
      client.on('end', () => resolve(data));
      client.on('error', reject);
      client.end('out');
    });
    assert.equal(reply, 'echo:out');
    assert.deepEqual(peers, ['198.18.250.2']);
  });

  it('leaves the source port of a connection out of the namespace to connect(): more destinations than ports', async () => {
    // With the port picked at bind(), every connection from the pod IP needs a port of its own, whatever its
    // destination, and the kernel searches the bind table for it (half a proxy's CPU in the netns bench once
    // thousands sat in TIME_WAIT). Picked at connect(), a port is only unique per destination.
    const servers4 = await Promise.all([0, 1, 2, 3].map(() => listenTcpInNetns(ns, '198.18.250.2', 0)));
    servers.push(...servers4);
    // The clients are destroyed unread at the end: their reset is expected.
    for (const s of servers4) s.on('connection', (c: Socket) => c.on('error', () => {}).end('hi'));
    inNetns(ns, 'sh', '-c', 'echo 40000 40001 > /proc/sys/net/ipv4/ip_local_port_range');
    const clients: Socket[] = [];
    try {
      for (const s of servers4) {
        clients.push(await connectFromNetns(ns, { localIp: '198.18.250.2', host: '198.18.250.2', port: (s.address() as { port: number }).port }));
      }
      // Four connections from two ports (the kernel may well give them all the same one).
      assert.deepEqual(clients.map((c) => c.localPort! >= 40000 && c.localPort! <= 40001), [true, true, true, true]);
    } finally {
      for (const c of clients) c.destroy();
      inNetns(ns, 'sh', '-c', 'echo 32768 60999 > /proc/sys/net/ipv4/ip_local_port_range');
    }
  });

  it('rejects a refused connection out of the namespace with ECONNREFUSED', async () => {
    // Nothing listens on this port inside the namespace (it was just created, only our servers run there).
    await assert.rejects(connectFromNetns(ns, { localIp: '198.18.250.2', host: '198.18.250.2', port: 1 }), { code: 'ECONNREFUSED' });
  });

  it('names the namespace when it does not exist', async () => {
    await assert.rejects(listenTcpInNetns(`${prefix}-missing`, '127.0.0.1', 0), (err: unknown) => {
      assert.ok(err instanceof L4meshError);
      assert.equal(err.code, 'L4MESH_ERR_NETNS');
      assert.match(err.message, new RegExp(`listen on 127\\.0\\.0\\.1:0 in netns ${prefix}-missing: open the namespace file: No such file or directory \\(no namespace`));
      return true;
    });
  });

  it('says root is needed when run as another user', () => {
    const module = new URL('../../../src/dataplane/capture/netns/native.js', import.meta.url).pathname;
    const out = execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--input-type=module', '-e',
      `import { netnsAddon } from '${module}'; try { netnsAddon(); } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`],
    { encoding: 'utf8' });
    assert.deepEqual(JSON.parse(out), {
      code: 'L4MESH_ERR_NETNS_UNAVAILABLE',
      message: 'netns mode needs root (it creates network namespaces and iptables rules); rerun as root, or use local mode',
    });
  });
});

// The in-pod DNS responder: exact answers for the three service name forms, NXDOMAIN for anything else,
// NODATA for AAAA of a known name, and real resolvers (c-ares over UDP, length-prefixed TCP) on loopback.
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { connect, createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import type { MeshService } from '../../../src/api/mesh.js';
import { DnsResponder } from '../../../src/dataplane/capture/netns/dns-responder.js';

function service(name: string, namespace: string, addresses: string[]): MeshService {
  return { name, namespace, hostname: `${name}.${namespace}.svc.cluster.local`, addresses, ports: [] };
}

const responder = new DnsResponder();
responder.setServices([
  service('ratings', 'default', ['198.19.0.7']),
  service('postgres', 'db', ['198.19.0.9', '198.19.1.9']),
]);

function ask(name: string, type: 'A' | 'AAAA', clientNamespace: string, id = 4242) {
  const query = dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }] });
  const reply = responder.answer(query, clientNamespace);
  assert.ok(reply);
  const r = dnsPacket.decode(reply) as dnsPacket.DecodedPacket & { rcode: string };
  return {
    id: r.id, rcode: r.rcode, aa: r.flag_aa, rd: r.flag_rd, ra: r.flag_ra,
    questions: r.questions, answers: (r.answers ?? []).map((a) => `${a.name} ${a.type} ${'ttl' in a ? a.ttl : ''} ${'data' in a ? String(a.data) : ''}`),
  };
}

describe('in-pod DNS responder', () => {
  it('answers <svc>.<ns>.svc.cluster.local, <svc>.<ns> and <svc> with the VIP', () => {
    assert.deepEqual(ask('ratings.default.svc.cluster.local', 'A', 'shop'), {
      id: 4242, rcode: 'NOERROR', aa: true, rd: true, ra: false,
      questions: [{ name: 'ratings.default.svc.cluster.local', type: 'A', class: 'IN' }],
      answers: ['ratings.default.svc.cluster.local A 30 198.19.0.7'],
    });
    assert.deepEqual(ask('ratings.default', 'A', 'shop').answers, ['ratings.default A 30 198.19.0.7']);
    assert.deepEqual(ask('ratings', 'A', 'default').answers, ['ratings A 30 198.19.0.7']);
    assert.deepEqual(ask('Postgres.DB.svc.cluster.local.', 'A', 'default').answers,
      ['Postgres.DB.svc.cluster.local A 30 198.19.0.9', 'Postgres.DB.svc.cluster.local A 30 198.19.1.9']);
  });

  it('answers NXDOMAIN for names of no service, including a bare name from another namespace', () => {
    for (const name of ['ratings', 'reviews.default.svc.cluster.local', 'ratings.default.shop.svc.cluster.local', 'example.com', 'ratings.default.svc']) {
      const r = ask(name, 'A', 'shop', 7);
      assert.deepEqual({ id: r.id, rcode: r.rcode, answers: r.answers }, { id: 7, rcode: 'NXDOMAIN', answers: [] }, name);
    }
  });

  it('answers AAAA of a known name with NOERROR and no records', () => {
    const r = ask('ratings.default.svc.cluster.local', 'AAAA', 'default');
    assert.deepEqual({ rcode: r.rcode, answers: r.answers }, { rcode: 'NOERROR', answers: [] });
  });

  it('follows setServices: a removed service is NXDOMAIN, a new one answers', () => {
    const r = new DnsResponder();
    r.setServices([service('a', 'default', ['198.19.0.1'])]);
    assert.deepEqual(r.lookup('a', 'default'), ['198.19.0.1']);
    r.setServices([service('b', 'default', ['198.19.0.2'])]);
    assert.equal(r.lookup('a', 'default'), undefined);
    assert.deepEqual(r.lookup('b.default.svc.cluster.local', 'x'), ['198.19.0.2']);
  });

  it('drops bytes that are not a DNS query, and answers FORMERR to a query with two questions', () => {
    assert.equal(responder.answer(Buffer.from('GET / HTTP/1.1\r\n\r\n'), 'default'), undefined);
    const two = dnsPacket.encode({ type: 'query', id: 9, questions: [{ type: 'A', name: 'a' }, { type: 'A', name: 'b' }] });
    const r = dnsPacket.decode(responder.answer(two, 'default')!) as dnsPacket.DecodedPacket & { rcode: string };
    assert.deepEqual({ id: r.id, rcode: r.rcode }, { id: 9, rcode: 'FORMERR' });
  });

  describe('on sockets', () => {
    let udp: UdpSocket;
    let tcp: Server;
    let port: number;
    before(async () => {
      tcp = createServer();
      responder.serveTcp(tcp, 'default');
      await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', () => r()));
      port = (tcp.address() as { port: number }).port;
      udp = createSocket('udp4');
      responder.serveUdp(udp, 'default');
      await new Promise<void>((r) => udp.bind(port, '127.0.0.1', () => r()));
    });
    after(() => {
      udp.close();
      tcp.close();
    });

    it('serves a real resolver over UDP: answers, and NXDOMAIN quickly', async () => {
      const resolver = new Resolver({ timeout: 5_000, tries: 1 });
      resolver.setServers([`127.0.0.1:${port}`]);
      assert.deepEqual(await resolver.resolve4('ratings.default.svc.cluster.local'), ['198.19.0.7']);
      assert.deepEqual(await resolver.resolve4('postgres.db'), ['198.19.0.9', '198.19.1.9']);
      const started = Date.now();
      await assert.rejects(resolver.resolve4('nope.default.svc.cluster.local'), { code: 'ENOTFOUND' });
      assert.ok(Date.now() - started < 4_000, 'NXDOMAIN came back, not a timeout');
    });

    it('serves two length-prefixed queries on one TCP connection', async () => {
      const q1 = dnsPacket.streamEncode({ type: 'query', id: 1, questions: [{ type: 'A', name: 'ratings' }] });
      const q2 = dnsPacket.streamEncode({ type: 'query', id: 2, questions: [{ type: 'A', name: 'nope' }] });
      const socket = connect({ host: '127.0.0.1', port });
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      // Both queries in one write, split mid-message, to exercise the framing.
      const both = Buffer.concat([q1, q2]);
      socket.write(both.subarray(0, 5));
      socket.end(both.subarray(5));
      await new Promise((r) => socket.on('close', r));
      const all = Buffer.concat(chunks);
      const first = dnsPacket.streamDecode(all) as dnsPacket.DecodedPacket & { rcode: string };
      const second = dnsPacket.streamDecode(all.subarray(2 + all.readUInt16BE(0))) as dnsPacket.DecodedPacket & { rcode: string };
      assert.deepEqual([first.id, first.rcode, first.answers?.map((a) => ('data' in a ? a.data : undefined))], [1, 'NOERROR', ['198.19.0.7']]);
      assert.deepEqual([second.id, second.rcode, second.answers], [2, 'NXDOMAIN', []]);
    });
  });
});

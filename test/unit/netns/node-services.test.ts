// The node namespace's kube-proxy stand-in: the exact nat table for the mesh's services (random choice
// among endpoints as kube-proxy's iptables mode makes it), VIP:ports built from the proxy state, and the
// node's cluster DNS answering short names in the namespace of whichever pod asked.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import type { MeshService, MeshWorkload } from '../../../src/api/mesh.js';
import { DnsResponder } from '../../../src/dataplane/capture/netns/dns-responder.js';
import { nodeServiceRules, serviceBackends } from '../../../src/dataplane/capture/netns/node-services.js';
import type { Endpoint } from '../../../src/dataplane/state/proxy-state.js';

describe('node service translations', () => {
  it('DNATs each VIP:port to its endpoints, picking rule i of n with probability 1/(n-i); a VIP without endpoints gets no rule', () => {
    const rules = nodeServiceRules([
      { vip: '198.19.0.9', port: 9080, endpoints: [{ ip: '198.18.1.2', port: 9080 }, { ip: '198.18.2.2', port: 9080 }, { ip: '198.18.2.3', port: 9081 }] },
      { vip: '198.19.0.3', port: 5432, endpoints: [{ ip: '198.18.1.4', port: 5432 }] },
      { vip: '198.19.0.5', port: 80, endpoints: [] },
    ]);
    assert.equal(rules, [
      '*nat',
      ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]',
      ':L4M_SERVICES - [0:0]',
      '-A PREROUTING -d 198.19.0.0/16 -p tcp -j L4M_SERVICES',
      '-A L4M_SERVICES -d 198.19.0.3/32 -p tcp -m tcp --dport 5432 -j DNAT --to-destination 198.18.1.4:5432',
      '-A L4M_SERVICES -d 198.19.0.9/32 -p tcp -m tcp --dport 9080 -m statistic --mode random --probability 0.333333 -j DNAT --to-destination 198.18.1.2:9080',
      '-A L4M_SERVICES -d 198.19.0.9/32 -p tcp -m tcp --dport 9080 -m statistic --mode random --probability 0.500000 -j DNAT --to-destination 198.18.2.2:9080',
      '-A L4M_SERVICES -d 198.19.0.9/32 -p tcp -m tcp --dport 9080 -j DNAT --to-destination 198.18.2.3:9081',
      'COMMIT',
      '',
    ].join('\n'));
  });

  it('takes every IPv4 VIP and service port with the endpoints the state gives for it', () => {
    const svc: MeshService = { name: 'db', namespace: 'shop', hostname: 'db.shop.svc.cluster.local', addresses: ['198.19.0.4', 'fd00::4'], ports: [{ servicePort: 5432, targetPort: 5433 }, { servicePort: 80, targetPort: 8080 }] };
    const pod = (ip: string) => ({ addresses: [ip] }) as unknown as MeshWorkload;
    const asked: string[] = [];
    const state = {
      allServices: () => [svc],
      endpointsOf: (key: string, port: number): Endpoint[] => {
        asked.push(`${key} ${port}`);
        return port === 5432 ? [{ workload: pod('198.18.1.7'), targetPort: 5433 }, { workload: pod('fd00::7'), targetPort: 5433 }] : [];
      },
    };
    assert.deepEqual(serviceBackends(state), [
      { vip: '198.19.0.4', port: 5432, endpoints: [{ ip: '198.18.1.7', port: 5433 }] },
      { vip: '198.19.0.4', port: 80, endpoints: [] },
    ]);
    assert.deepEqual(asked, ['shop/db.shop.svc.cluster.local 5432', 'shop/db.shop.svc.cluster.local 80']);
  });

  it('the node\'s DNS resolves a short name in the namespace of the pod that asked', async () => {
    const dns = new DnsResponder();
    dns.setServices([
      { name: 'web', namespace: 'shop', hostname: 'web.shop.svc.cluster.local', addresses: ['198.19.0.1'], ports: [] },
      { name: 'web', namespace: 'blog', hostname: 'web.blog.svc.cluster.local', addresses: ['198.19.0.2'], ports: [] },
    ]);
    const server = createSocket('udp4');
    const byAddress: Record<string, string> = { '127.0.0.1': 'blog' };
    const seen: string[] = [];
    dns.serveUdp(server, (address) => {
      seen.push(address);
      return byAddress[address] ?? 'default';
    });
    await new Promise<void>((resolve) => server.bind(0, '127.0.0.1', resolve));
    const client = createSocket('udp4');
    try {
      const reply = await new Promise<Buffer>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no DNS answer within 10 s')), 10_000);
        client.once('message', (msg) => {
          clearTimeout(timer);
          resolve(msg);
        });
        client.send(dnsPacket.encode({ type: 'query', id: 7, questions: [{ type: 'A', name: 'web', class: 'IN' }] }), server.address().port, '127.0.0.1');
      });
      const answers = (dnsPacket.decode(reply).answers ?? []).map((a) => ('data' in a ? String(a.data) : ''));
      assert.deepEqual([answers, seen], [['198.19.0.2'], ['127.0.0.1']]);
    } finally {
      client.close();
      server.close();
    }
  });
});

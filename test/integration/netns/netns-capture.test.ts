// netns capture end to end in real namespaces: an enrolled pod's connections reach the handler with the
// source workload and the original destination (VIP → its service, pod IP), many at once; plaintext into
// it reaches the inbound handler; the pod's resolver gets service VIPs from the in-pod DNS (unmodified
// getent and curl by name); an unenrolled pod is left alone, and a workload that leaves loses its listeners.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { MeshService, MeshWorkload } from '../../../src/api/mesh.js';
import type { CapturedConnection } from '../../../src/dataplane/capture/capture.js';
import { DnsResponder } from '../../../src/dataplane/capture/netns/dns-responder.js';
import { applyInpodRules } from '../../../src/dataplane/capture/netns/inpod-rules.js';
import { NetnsCapture } from '../../../src/dataplane/capture/netns/netns-capture.js';
import { onChunks } from '../../../src/dataplane/pooled-reads.js';
import { NetnsTopology, type PodNetns } from '../../../src/dataplane/capture/netns/topology.js';
import { netnsSkipReason, runInNetns, tcpBurstInNetns, tcpClientInNetns, uniqueTestPrefix } from '../../support/netns.js';

const skip = netnsSkipReason({ iptables: true, addon: true }) ?? (hasCurl() ? undefined : 'curl is not installed; scripts/test-setup.mjs installs it');
/** Connections opened at once from one pod: enough to interleave accepts, SO_ORIGINAL_DST reads and replies. */
const BURST = 40;

function hasCurl(): boolean {
  return spawnSync('sh', ['-c', 'command -v curl'], { stdio: 'ignore' }).status === 0;
}

function workload(name: string, namespace: string, ip: string): MeshWorkload {
  return {
    uid: `Kubernetes//Pod/${namespace}/${name}`, name, namespace, addresses: [ip], hostname: '', network: '', tunnelProtocol: 'HBONE',
    trustDomain: 'cluster.local', serviceAccount: 'default', node: 'n1', canonicalName: name, canonicalRevision: 'latest',
    workloadType: 'POD', workloadName: name, services: {}, authorizationPolicies: [], status: 'HEALTHY', clusterId: 'Kubernetes', capacity: 1, labels: {},
  };
}

const ratings: MeshService = { name: 'ratings', namespace: 'default', hostname: 'ratings.default.svc.cluster.local', addresses: ['198.19.0.7'], ports: [] };

describe('netns capture', { skip }, () => {
  const topology = new NetnsTopology(uniqueTestPrefix());
  const dns = new DnsResponder();
  const seen: string[] = [];
  const errors: string[] = [];
  let a: PodNetns;
  let b: PodNetns;
  let sleep: MeshWorkload;
  let capture: NetnsCapture;

  before(async () => {
    await topology.createFabric();
    await topology.addNode('n1', 1);
    a = await topology.addPod({ node: 'n1', nodeIndex: 1, namespace: 'default', pod: 'sleep', host: 2 });
    b = await topology.addPod({ node: 'n1', nodeIndex: 1, namespace: 'default', pod: 'plain', host: 3 });
    await applyInpodRules(a.netns);
    sleep = workload('sleep', 'default', a.ip);
    dns.setServices([ratings]);
    const netnsByUid = new Map([[sleep.uid, a.netns]]);
    capture = new NetnsCapture({
      netnsOf: (w) => netnsByUid.get(w.uid),
      serviceFor: (ip) => (ratings.addresses.includes(ip) ? ratings : undefined),
      dns,
      onError: (message) => errors.push(message),
    });
    capture.onConnection((conn: CapturedConnection) => {
      const { socket } = conn;
      const tag = `${conn.source.name} ${conn.service?.name ?? '-'} ${socket.remoteAddress}→${conn.destinationIp}:${conn.destinationPort}`;
      let data = '';
      // Captured sockets read through the shared pool (as the outbound handler's splice does).
      onChunks(socket, (chunk) => {
        data += chunk.bytes.toString();
        chunk.release();
        if (data.startsWith('GET ') && data.includes('\r\n\r\n')) {
          seen.push(`${tag} http`);
          socket.end(`HTTP/1.1 200 OK\r\ncontent-length: ${Buffer.byteLength(tag)}\r\nconnection: close\r\n\r\n${tag}`);
        }
      });
      socket.on('end', () => {
        if (data.startsWith('GET ')) return;
        seen.push(`${tag} ${data}`);
        socket.end(`${tag} ${data}`);
      });
    });
    capture.onInbound((conn) => {
      const { socket } = conn;
      const tag = `inbound ${conn.destination.name} ${socket.remoteAddress}→${conn.destinationIp}:${conn.destinationPort}`;
      let data = '';
      onChunks(socket, (chunk) => {
        data += chunk.bytes.toString();
        chunk.release();
      });
      socket.on('end', () => {
        seen.push(`${tag} ${data}`);
        socket.end(`${tag} ${data}`);
      });
    });
    await capture.sync([sleep, workload('plain', 'default', b.ip)]);
  });

  after(async () => {
    await capture.close();
    await topology.destroy();
  });

  it('opens listeners only in the enrolled pod', () => {
    assert.deepEqual(capture.capturedNetns(), [a.netns]);
    assert.deepEqual(errors, []);
  });

  it('hands the source workload and the original destination to the handler', async () => {
    seen.length = 0;
    assert.deepEqual(await tcpClientInNetns(a.netns, '198.19.0.7', 9080, 'vip'), { reply: 'sleep ratings 198.18.1.2→198.19.0.7:9080 vip' });
    assert.deepEqual(await tcpClientInNetns(a.netns, b.ip, 8080, 'pod'), { reply: 'sleep - 198.18.1.2→198.18.1.3:8080 pod' });
    assert.deepEqual(seen, ['sleep ratings 198.18.1.2→198.19.0.7:9080 vip', 'sleep - 198.18.1.2→198.18.1.3:8080 pod']);
  });

  it(`carries ${BURST} connections opened at once, each with its own original destination`, async () => {
    seen.length = 0;
    const replies = await tcpBurstInNetns(a.netns, '198.19.0.7', 20_000, BURST);
    assert.deepEqual(replies, Array.from({ length: BURST }, (_, i) => `sleep ratings 198.18.1.2→198.19.0.7:${20_000 + i} ${i}`));
    assert.equal(seen.length, BURST);
  });

  it('hands plaintext from an unenrolled pod to the inbound handler with the pod as destination; :15008 is not redirected', async () => {
    seen.length = 0;
    assert.deepEqual(await tcpClientInNetns(b.netns, a.ip, 8080, 'plain'), { reply: 'inbound sleep 198.18.1.3→198.18.1.2:8080 plain' });
    // HBONE's port goes to whatever listens on the pod IP:15008 (nothing in this test), never to :15006.
    assert.deepEqual(await tcpClientInNetns(b.netns, a.ip, 15008, 'h'), { reply: '', error: 'ECONNREFUSED' });
    assert.deepEqual(seen, ['inbound sleep 198.18.1.3→198.18.1.2:8080 plain']);
  });

  it('resolves service names for the pod\'s own resolver (getent) and NXDOMAINs the rest quickly', async () => {
    const out = await runInNetns(a.netns, 'getent', ['ahostsv4', 'ratings']);
    assert.equal(out.split('\n')[0], '198.19.0.7      STREAM ratings.default.svc.cluster.local');
    const started = Date.now();
    const code = await new Promise<number | null>((resolve) => {
      execFile('ip', ['netns', 'exec', a.netns, 'getent', 'ahostsv4', 'nope'], (err) => resolve(err ? (err as { code?: number }).code ?? null : 0));
    });
    assert.equal(code, 2);
    assert.ok(Date.now() - started < 5_000, `NXDOMAIN took ${Date.now() - started} ms (a resolver timeout is 5 s)`);
  });

  it('carries an unmodified curl to http://ratings:9080 by name', async () => {
    seen.length = 0;
    const body = await runInNetns(a.netns, 'curl', ['-sS', '--max-time', '20', 'http://ratings:9080/']);
    assert.equal(body, 'sleep ratings 198.18.1.2→198.19.0.7:9080');
    assert.deepEqual(seen, ['sleep ratings 198.18.1.2→198.19.0.7:9080 http']);
  });

  it('closes a pod\'s listeners when its workload leaves', async () => {
    await capture.sync([]);
    assert.deepEqual(capture.capturedNetns(), []);
    // The rules still redirect, and nothing listens on :15001 any more.
    assert.deepEqual(await tcpClientInNetns(a.netns, '198.19.0.7', 9080, 'x'), { reply: '', error: 'ECONNREFUSED' });
    await capture.sync([sleep]);
    assert.deepEqual(await tcpClientInNetns(a.netns, '198.19.0.7', 9080, 'y'), { reply: 'sleep ratings 198.18.1.2→198.19.0.7:9080 y' });
  });
});

// Failed connections counted with response_flags (no healthy upstream → CONNECT, AuthorizationPolicy →
// DENY on both reporters) and logged at error; then series expiry: once the echo pod is deleted and the
// grace (1 s here) has passed with no open connection, every series naming it vanishes from /metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '../../support/mesh.js';
import { labelsOf, select } from '../../support/prometheus-text.js';
import { exchange, scrape, sizedRequest, startEchoMesh } from './telemetry-mesh.js';

const VOID_SERVICE = `apiVersion: v1
kind: Service
metadata:
  name: void
  namespace: default
spec:
  selector:
    app: void
  ports:
  - name: tcp
    port: 7100
---
`;
const DENY_SLEEP = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: deny-sleep
  namespace: default
spec:
  selector:
    matchLabels:
      app: echo
  action: DENY
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/default/sa/sleep"]
`;

test('failed connections carry response_flags and an error access log; series of a deleted pod expire after the grace', { timeout: 150_000 }, async () => {
  const env = await startEchoMesh({ extraZtunnelArgs: ['--metrics-expiry-grace', '1s'] });
  try {
    const { mesh, listen } = env;
    // One good connection first, so echo-v1 has ordinary series to expire later.
    assert.equal(await exchange(listen.listenAddress, listen.listenPort, sizedRequest(10, 20)), 20);

    await mesh.apply(VOID_SERVICE);
    const voidListen = await eventually(async () => {
      const mappings = JSON.parse(await mesh.proxyGet(1, 15000, '/capture')) as Array<{ hostname: string; listenAddress: string; listenPort: number }>;
      return mappings.find((m) => m.hostname === 'void.default.svc.cluster.local');
    }, 15_000, 'the void listener');
    // The proxy refuses by resetting the client connection.
    await assert.rejects(exchange(voidListen.listenAddress, voidListen.listenPort, Buffer.from('x')), { code: 'ECONNRESET' });
    const connectFailed = await eventually(async () => {
      const s = select(await scrape(mesh, 1), 'istio_tcp_connections_failed_total', { reporter: 'source', response_flags: 'CONNECT' });
      return s.length === 1 ? s[0] : undefined;
    }, 5000, 'a CONNECT failure on node-1');
    assert.equal(connectFailed.value, 1);
    assert.equal(labelsOf(connectFailed)['destination_service'], 'void.default.svc.cluster.local');
    assert.equal(labelsOf(connectFailed)['source_workload'], 'sleep');
    assert.equal(labelsOf(connectFailed)['destination_workload'], 'unknown');
    const logLine = await eventually(() => mesh.nodes[0]!.proc.output().split('\n').find((l) => /\terror\taccess\t/.test(l) && l.includes('dst.service="void.default.svc.cluster.local"')), 5000, 'the error access-log line');
    assert.match(logLine, /error="no healthy upstream"/);

    await mesh.apply(DENY_SLEEP);
    // Until node-2 has the policy, attempts go through; counted, so the series below are exact.
    let attempts = 0;
    let passed = 0;
    await eventually(async () => {
      attempts++;
      if ((await exchange(listen.listenAddress, listen.listenPort, sizedRequest(10, 20)).catch(() => -1)) === 20) passed++;
      return select(await scrape(mesh, 2), 'istio_tcp_connections_failed_total', { reporter: 'destination', response_flags: 'DENY' }).length === 1;
    }, 15_000, 'a DENY failure on node-2');
    const denySrc = await eventually(async () => {
      const s = select(await scrape(mesh, 1), 'istio_tcp_connections_failed_total', { reporter: 'source', response_flags: 'DENY' });
      return s.length === 1 ? s[0] : undefined;
    }, 5000, 'a DENY failure on node-1');
    assert.equal(labelsOf(denySrc)['destination_workload'], 'echo-v1');
    const [denyDst] = select(await scrape(mesh, 2), 'istio_tcp_connections_failed_total', { reporter: 'destination', response_flags: 'DENY' });
    assert.equal(labelsOf(denyDst!)['source_principal'], 'spiffe://cluster.local/ns/default/sa/sleep');
    assert.equal(labelsOf(denyDst!)['connection_security_policy'], 'mutual_tls');
    assert.equal(denyDst!.value, denySrc.value, 'every denied connection counted on both sides');

    // Expiry: delete the echo pod; with no open connection, its series go after the 1 s grace.
    const echoSeries = (s: Awaited<ReturnType<typeof scrape>>) => s.filter((x) => x.name.startsWith('istio_tcp_') && labelsOf(x)['destination_workload'] === 'echo-v1');
    const good = 1 + passed;
    assert.deepEqual(echoSeries(await scrape(mesh, 1)).map((x) => `${x.name}{${labelsOf(x)['response_flags']}} ${x.value}`).sort(), [
      `istio_tcp_connections_closed_total{-} ${good}`,
      `istio_tcp_connections_failed_total{DENY} ${attempts - passed}`,
      `istio_tcp_connections_opened_total{-} ${good}`,
      `istio_tcp_received_bytes_total{-} ${10 * good}`,
      `istio_tcp_sent_bytes_total{-} ${20 * good}`,
    ]);
    assert.equal(await mesh.deleteResource('/api/v1/namespaces/default/pods/echo-v1-5c8f6d9b7-x7k2p'), 200);
    for (const node of [1, 2]) {
      await eventually(async () => echoSeries(await scrape(mesh, node)).length === 0, 10_000, `echo-v1 series gone from node-${node}`);
    }
    // The CONNECT failure names only workloads still in the mesh (sleep → unknown): it stays.
    assert.equal(select(await scrape(mesh, 1), 'istio_tcp_connections_failed_total', { response_flags: 'CONNECT' }).length, 1);
  } finally {
    await env.stop();
  }
});
